with

stops as (

    select * from {{ ref('int_bus_stops__deduped') }}

),

final as (

    select
        stop_id,
        stop_name,
        longitude,
        latitude,
        routes,
        {# routes are delivered as one text, separated by 、 #}
        case
            when routes is null then 0
            else length(routes) - length(replace(routes, '、', '')) + 1
        end as route_count,
        street_code,
        district_code
    from stops

)

select * from final
