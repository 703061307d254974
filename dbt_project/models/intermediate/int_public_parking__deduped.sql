{#
    public_parking: the valid rows (reject_reason is null; the others are in int_quarantined_rows), one per
    parking_id: a later delivery of the same key is a correction and wins (latest _drop_date,
    then the highest _row_number).
    A street code that is missing, unknown or outdated is derived from the address
    (address_street_ctes); a row whose delivered code is unusable and whose address names no street
    is quarantined instead.
    street_code_origin: declared | remapped (pre-2012 prefix replaced) | address.
#}

with

staged as (

    select * from {{ ref('stg_public_parking') }}
    where reject_reason is null

),

{{ sudata.address_street_ctes('staged', 'address') }},

located as (

    select
        staged.parking_id,
        staged.parking_name,
        staged.address,
        staged.spaces,
        staged.fee_standard,
        staged.opening_hours,
        staged.longitude,
        staged.latitude,
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

    {{ sudata.latest_correction('located', ['parking_id']) }}

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
        district_code,
        street_code_origin,
        _source_file,
        _drop_date,
        _row_number
    from latest

)

select * from final
