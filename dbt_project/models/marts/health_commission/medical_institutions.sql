with

institutions as (

    select * from {{ ref('int_medical_institutions__deduped') }}

),

final as (

    select
        uscc,
        institution_name,
        category,
        level,
        address,
        beds,
        {{ sudata.govern('phone', 'phone') }} as phone,
        {{ sudata.govern('head_name', 'person_name') }} as head_name,
        street_code,
        district_code
    from institutions

)

select * from final
