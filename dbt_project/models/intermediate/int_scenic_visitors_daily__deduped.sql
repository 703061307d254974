{#
    scenic_visitors_daily: the valid rows (reject_reason is null; the others are in int_quarantined_rows), one per
    spot_id, visit_date: a later delivery of the same key is a correction and wins (latest _drop_date,
    then the highest _row_number).
    Ready to become incremental on _drop_date: set materialized='incremental' and each run processes
    only the drops it has not seen, merging on the unique key.
#}

{{ config(unique_key=['spot_id', 'visit_date']) }}

with

staged as (

    select * from {{ ref('stg_scenic_visitors_daily') }}
    where reject_reason is null
    {% if is_incremental() %}
        and _drop_date > (select max(_drop_date) from {{ this }})
    {% endif %}

),

spots as (

    select spot_id from {{ ref('int_scenic_spots__deduped') }}

),

located as (

    select
        staged.spot_id,
        staged.visit_date,
        staged.visitors,
        staged._source_file,
        staged._drop_date,
        staged._row_number
    from staged
    where staged.spot_id in (select spot_id from spots)

),

latest as (

    {{ sudata.latest_correction('located', ['spot_id', 'visit_date']) }}

),

final as (

    select
        spot_id,
        visit_date,
        visitors,
        _source_file,
        _drop_date,
        _row_number
    from latest

)

select * from final
