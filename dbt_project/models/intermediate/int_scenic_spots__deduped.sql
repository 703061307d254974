{#
    scenic_spots: the valid rows (reject_reason is null; the others are in int_quarantined_rows), one per
    spot_id: a later delivery of the same key is a correction and wins (latest _drop_date,
    then the highest _row_number).
    A street code that is missing, unknown or outdated is derived from the address
    (address_street_ctes); a row whose delivered code is unusable and whose address names no street
    is quarantined instead.
    street_code_origin: declared | remapped (pre-2012 prefix replaced) | address.
#}

with

staged as (

    select * from {{ ref('stg_scenic_spots') }}
    where reject_reason is null

),

{{ sudata.address_street_ctes('staged', 'address') }},

located as (

    select
        staged.spot_id,
        staged.spot_name,
        staged.rating,
        staged.address,
        staged.opening_hours,
        staged.ticket_price_cny,
        staged.phone,
        coalesce(staged.street_code, addresses.street_code) as street_code,
        coalesce(staged.district_code, addresses.district_code) as district_code,
        case
            when staged.street_code_status = 'current' then 'declared'
            when staged.street_code_status = 'remapped' then 'remapped'
            when addresses.street_code is not null then 'address'
        end as street_code_origin,
        staged._source_file,
        staged._drop_date,
        staged._row_number
    from staged
    left join addresses
        on staged.address = addresses.address
    where {{ sudata.street_code_reject_reason('staged', 'addresses') }} is null

),

latest as (

    {{ sudata.latest_correction('located', ['spot_id']) }}

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
        district_code,
        street_code_origin,
        _source_file,
        _drop_date,
        _row_number
    from latest

)

select * from final
