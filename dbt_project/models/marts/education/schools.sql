with

schools as (

    select * from {{ ref('int_schools__deduped') }}

),

final as (

    select
        school_code,
        school_name,
        school_type,
        operator_type,
        address,
        students,
        teachers,
        {{ sudata.govern('phone', 'phone') }} as phone,
        {{ sudata.govern('principal_name', 'person_name') }} as principal_name,
        street_code,
        district_code
    from schools

)

select * from final
