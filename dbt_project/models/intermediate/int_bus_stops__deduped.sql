{#
    bus_stops: the valid rows (reject_reason is null; the others are in int_quarantined_rows), one per
    stop_id: a later delivery of the same key is a correction and wins (latest _drop_date,
    then the highest _row_number).
    A pre-2012 street code is remapped to its current code; a row with an unknown code is quarantined.
#}

with

staged as (

    select * from {{ ref('stg_bus_stops') }}
    where reject_reason is null

),

located as (

    select
        staged.stop_id,
        staged.stop_name,
        staged.longitude,
        staged.latitude,
        staged.routes,
        staged.street_code,
        staged.district_code,
        case
            when staged.street_code_status = 'current' then 'declared'
            when staged.street_code_status = 'remapped' then 'remapped'
        end as street_code_origin,
        staged._source_file,
        staged._drop_date,
        staged._row_number
    from staged
    where {{ sudata.street_code_reject_reason('staged') }} is null

),

latest as (

    {{ sudata.latest_correction('located', ['stop_id']) }}

),

final as (

    select
        stop_id,
        stop_name,
        longitude,
        latitude,
        routes,
        street_code,
        district_code,
        street_code_origin,
        _source_file,
        _drop_date,
        _row_number
    from latest

)

select * from final
