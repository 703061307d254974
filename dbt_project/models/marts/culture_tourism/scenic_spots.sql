with

spots as (

    select * from {{ ref('int_scenic_spots__deduped') }}

),

final as (

    select
        spot_id,
        spot_name,
        rating,
        address,
        opening_hours,
        ticket_price_cny,
        phone,
        street_code,
        district_code
    from spots

)

select * from final
