{#
    service_hall_transactions: the valid rows (reject_reason is null; the others are in int_quarantined_rows), one per
    street_code, service_date, service_category: a later delivery of the same key is a correction and wins (latest _drop_date,
    then the highest _row_number).
    A pre-2012 street code is remapped to its current code; a row with an unknown code is quarantined.
    Ready to become incremental on _drop_date: set materialized='incremental' and each run processes
    only the drops it has not seen, merging on the unique key.
#}

{{ config(unique_key=['street_code', 'service_date', 'service_category']) }}

with

staged as (

    select * from {{ ref('stg_service_hall_transactions') }}
    where reject_reason is null
    {% if is_incremental() %}
        and _drop_date > (select max(_drop_date) from {{ this }})
    {% endif %}

),

located as (

    select
        staged.service_date,
        staged.service_category,
        staged.received,
        staged.completed,
        staged.avg_minutes,
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

    {{ sudata.latest_correction('located', ['street_code', 'service_date', 'service_category']) }}

),

final as (

    select
        street_code,
        district_code,
        service_date,
        service_category,
        received,
        completed,
        avg_minutes,
        street_code_origin,
        _source_file,
        _drop_date,
        _row_number
    from latest

)

select * from final
