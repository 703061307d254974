with

parking as (

    select * from {{ ref('int_public_parking__deduped') }}

),

final as (

    select
        parking_id,
        parking_name,
        address,
        spaces,
        fee_standard,
        opening_hours,
        longitude,
        latitude,
        street_code,
        district_code
    from parking

)

select * from final
