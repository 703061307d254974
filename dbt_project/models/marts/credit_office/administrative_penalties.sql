with

penalties as (

    select * from {{ ref('int_administrative_penalties__deduped') }}

),

enterprises as (

    select uscc, street_code, district_code from {{ ref('int_enterprises') }}

),

final as (

    select
        penalties.penalty_number,
        penalties.party_name,
        penalties.uscc,
        {{ sudata.govern('penalties.legal_representative', 'person_name', output_column='legal_representative') }} as legal_representative,
        penalties.violation_type,
        penalties.penalty_content,
        penalties.fine_amount_10k_cny,
        penalties.decision_date,
        penalties.authority,
        enterprises.street_code,
        enterprises.district_code
    from penalties
    left join enterprises
        on penalties.uscc = enterprises.uscc

)

select * from final
