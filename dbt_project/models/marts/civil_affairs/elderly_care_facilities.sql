with

facilities as (

    select * from {{ ref('int_elderly_care_facilities__deduped') }}

),

final as (

    select
        uscc,
        facility_name,
        facility_type,
        address,
        beds,
        residents,
        {{ sudata.govern('head_name', 'person_name') }} as head_name,
        {{ sudata.govern('phone', 'phone') }} as phone,
        street_code,
        district_code
    from facilities

)

select * from final
