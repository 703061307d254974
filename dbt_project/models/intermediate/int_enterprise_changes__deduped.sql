{#
    enterprise_changes: the valid rows (reject_reason is null; the others are in int_quarantined_rows), one per
    uscc, change_item, change_date: a later delivery of the same key is a correction and wins (latest _drop_date,
    then the highest _row_number).
    Ready to become incremental on _drop_date: set materialized='incremental' and each run processes
    only the drops it has not seen, merging on the unique key.
#}

{{ config(unique_key=['uscc', 'change_item', 'change_date']) }}

with

staged as (

    select * from {{ ref('stg_enterprise_changes') }}
    where reject_reason is null
    {% if is_incremental() %}
        and _drop_date > (select max(_drop_date) from {{ this }})
    {% endif %}

),

located as (

    select
        staged.uscc,
        staged.change_item,
        staged.value_before,
        staged.value_after,
        staged.change_date,
        staged._source_file,
        staged._drop_date,
        staged._row_number
    from staged

),

latest as (

    {{ sudata.latest_correction('located', ['uscc', 'change_item', 'change_date']) }}

),

final as (

    select
        uscc,
        change_item,
        value_before,
        value_after,
        change_date,
        _source_file,
        _drop_date,
        _row_number
    from latest

)

select * from final
