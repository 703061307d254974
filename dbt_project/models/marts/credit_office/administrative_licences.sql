with

licences as (

    select * from {{ ref('int_administrative_licences__deduped') }}

),

enterprises as (

    select uscc, street_code, district_code from {{ ref('int_enterprises') }}

),

final as (

    select
        licences.licence_number,
        licences.licence_name,
        licences.holder_name,
        licences.uscc,
        {{ sudata.govern('licences.legal_representative', 'person_name', output_column='legal_representative') }} as legal_representative,
        licences.licence_content,
        licences.decision_date,
        licences.valid_until,
        licences.is_long_term,
        licences.authority,
        enterprises.street_code,
        enterprises.district_code
    from licences
    left join enterprises
        on licences.uscc = enterprises.uscc

)

select * from final
