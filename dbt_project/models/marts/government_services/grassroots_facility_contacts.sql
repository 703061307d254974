{#
    Closed dataset for grassroots units (Su Online): the people in charge of the schools, medical
    institutions and elderly-care facilities of each street, with their phones in clear, so that a
    street can reach them in an emergency. Never published in the open catalog.
#}

with

schools as (

    select * from {{ ref('int_schools__deduped') }}

),

medical as (

    select * from {{ ref('int_medical_institutions__deduped') }}

),

elderly as (

    select * from {{ ref('int_elderly_care_facilities__deduped') }}

),

facilities as (

    select
        cast('school' as {{ dbt.type_string() }}) as facility_kind,
        school_code as facility_id,
        school_name as facility_name,
        address,
        principal_name as head_name,
        phone,
        street_code,
        district_code
    from schools

    union all

    select
        cast('medical_institution' as {{ dbt.type_string() }}) as facility_kind,
        uscc as facility_id,
        institution_name as facility_name,
        address,
        head_name,
        phone,
        street_code,
        district_code
    from medical

    union all

    select
        cast('elderly_care_facility' as {{ dbt.type_string() }}) as facility_kind,
        uscc as facility_id,
        facility_name,
        address,
        head_name,
        phone,
        street_code,
        district_code
    from elderly

),

final as (

    select
        facility_kind,
        facility_id,
        facility_name,
        address,
        {{ sudata.govern('head_name', 'person_name') }} as head_name,
        {{ sudata.govern('phone', 'phone') }} as phone,
        street_code,
        district_code
    from facilities

)

select * from final
