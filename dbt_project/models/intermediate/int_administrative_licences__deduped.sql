{#
    administrative_licences: the valid rows (reject_reason is null; the others are in int_quarantined_rows), one per
    licence_number: a later delivery of the same key is a correction and wins (latest _drop_date,
    then the highest _row_number).
#}

with

staged as (

    select * from {{ ref('stg_administrative_licences') }}
    where reject_reason is null

),

located as (

    select
        staged.licence_number,
        staged.licence_name,
        staged.holder_name,
        staged.uscc,
        staged.legal_representative,
        staged.licence_content,
        staged.decision_date,
        staged.valid_until,
        staged.is_long_term,
        staged.authority,
        staged._source_file,
        staged._drop_date,
        staged._row_number
    from staged

),

latest as (

    {{ sudata.latest_correction('located', ['licence_number']) }}

),

final as (

    select
        licence_number,
        licence_name,
        holder_name,
        uscc,
        legal_representative,
        licence_content,
        decision_date,
        valid_until,
        is_long_term,
        authority,
        _source_file,
        _drop_date,
        _row_number
    from latest

)

select * from final
