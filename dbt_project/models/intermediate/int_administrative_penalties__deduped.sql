{#
    administrative_penalties: the valid rows (reject_reason is null; the others are in int_quarantined_rows), one per
    penalty_number: a later delivery of the same key is a correction and wins (latest _drop_date,
    then the highest _row_number).
#}

with

staged as (

    select * from {{ ref('stg_administrative_penalties') }}
    where reject_reason is null

),

located as (

    select
        staged.penalty_number,
        staged.party_name,
        staged.uscc,
        staged.legal_representative,
        staged.violation_type,
        staged.penalty_content,
        staged.fine_amount_10k_cny,
        staged.decision_date,
        staged.authority,
        staged._source_file,
        staged._drop_date,
        staged._row_number
    from staged

),

latest as (

    {{ sudata.latest_correction('located', ['penalty_number']) }}

),

final as (

    select
        penalty_number,
        party_name,
        uscc,
        legal_representative,
        violation_type,
        penalty_content,
        fine_amount_10k_cny,
        decision_date,
        authority,
        _source_file,
        _drop_date,
        _row_number
    from latest

)

select * from final
