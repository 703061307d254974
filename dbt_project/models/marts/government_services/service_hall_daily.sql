with

transactions as (

    select * from {{ ref('int_service_hall_transactions__deduped') }}

),

final as (

    select
        street_code,
        service_date,
        service_category,
        district_code,
        received,
        completed,
        avg_minutes,
        case
            when received > 0 then cast(round(1.0 * completed / received, 4) as decimal(10, 4))
        end as completion_rate
    from transactions

)

select * from final
