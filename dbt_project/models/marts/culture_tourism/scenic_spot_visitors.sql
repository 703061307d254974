with

visitors as (

    select * from {{ ref('int_scenic_visitors_daily__deduped') }}

),

spots as (

    select spot_id, spot_name, rating, street_code, district_code
    from {{ ref('int_scenic_spots__deduped') }}

),

final as (

    select
        visitors.spot_id,
        visitors.visit_date,
        spots.spot_name,
        spots.rating,
        visitors.visitors,
        spots.street_code,
        spots.district_code
    from visitors
    left join spots
        on visitors.spot_id = spots.spot_id

)

select * from final
