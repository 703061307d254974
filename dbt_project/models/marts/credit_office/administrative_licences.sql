with

licences as (

    select * from {{ ref('int_administrative_licences__deduped') }}

),

{# where the holder is registered in Suzhou: the street of its 住所 #}
registrations as (

    select uscc, street_code, district_code from {{ ref('int_enterprise_registrations__deduped') }}

),

{# otherwise the county-level unit of the registering authority (USCC characters 3-8), when in Suzhou #}
districts as (

    select distinct district_code from {{ ref('suzhou_streets') }}

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
        registrations.street_code,
        coalesce(registrations.district_code, districts.district_code) as district_code,
        {# the drop that delivered the row: its part of the published files (sudata.parts) #}
        licences._drop_date
    from licences
    left join registrations
        on licences.uscc = registrations.uscc
    left join districts
        on substr(licences.uscc, 3, 6) = districts.district_code

)

select * from final
