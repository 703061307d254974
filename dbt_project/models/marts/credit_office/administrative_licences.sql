{#
    Incremental by licence (macros/incremental.sql): a night recomputes the licences that changed, those
    whose holder's registration changed (its street), and the held licences whose holder has no
    registration any more; it withdraws the licences that went.
#}
{%- set key = ['licence_number'] %}
{%- set licences_model = ref('int_administrative_licences__deduped') %}
{%- set registrations_model = ref('int_enterprise_registrations__deduped') %}
{{ config(unique_key=key) }}

with

{# where the holder is not registered: the county-level unit of the registering authority (USCC characters
   3-8), when in Suzhou #}
districts as (

    select distinct district_code from {{ ref('suzhou_streets') }}

),
{%- if is_incremental() %}

touched as (

    {{ sudata.changed_keys(licences_model, key) }}
    union
    select licence_number from {{ licences_model }}
    where uscc in (select uscc from {{ registrations_model }} {{ sudata.changed_since_built() }})
    union
    {{ sudata.withdrawn_keys(licences_model, key) }}
    union
    {# the licences whose holder's registration went, where that moves them: they fall back to the district #}
    select published.licence_number from {{ this }} as published
    left join districts
        on substr(published.uscc, 3, 6) = districts.district_code
    where not exists (
        select 1 from {{ registrations_model }} as current_registrations
        where current_registrations.uscc = published.uscc
    )
    and (published.street_code is not null or published.district_code is distinct from districts.district_code)

),
{%- endif %}

licences as (

    select * from {{ licences_model }}
    {%- if is_incremental() %}
    where licence_number in (select licence_number from touched)
    {%- endif %}

),

{# where the holder is registered in Suzhou: the street of its 住所 #}
registrations as (

    select uscc, street_code, district_code from {{ registrations_model }}

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
        licences._drop_date,
        {{ sudata.upstream_changed_at([licences_model, registrations_model]) }} as _changed_at
    from licences
    left join registrations
        on licences.uscc = registrations.uscc
    left join districts
        on substr(licences.uscc, 3, 6) = districts.district_code

)

{{ sudata.merge_touched('final', 'touched', key, [
    'licence_number', 'licence_name', 'holder_name', 'uscc', 'legal_representative', 'licence_content',
    'decision_date', 'valid_until', 'is_long_term', 'authority', 'street_code', 'district_code', '_drop_date',
    '_changed_at']) }}
