{#
    Registered enterprises only: the registration (latest correction) and its changes. The licences and
    penalties are published by the credit office in their own datasets, so a late credit delivery never
    holds back the registry.

    Incremental by enterprise (macros/incremental.sql): a night recomputes the enterprises whose registration
    or changes changed, and those that lost their registration or a change.
#}
{%- set key = ['uscc'] %}
{%- set registrations_model = ref('int_enterprise_registrations__deduped') %}
{%- set changes_model = ref('int_enterprise_changes__deduped') %}
{{ config(unique_key=key) }}

with
{%- if is_incremental() %}

touched as (

    {{ sudata.changed_keys(registrations_model, key) }}
    union
    {{ sudata.changed_keys(changes_model, key) }}
    union
    {{ sudata.recounted_keys(registrations_model, key, '1') }}
    union
    {{ sudata.recounted_keys(changes_model, key, 'change_count') }}

),
{%- endif %}

registrations as (

    select * from {{ registrations_model }}
    {%- if is_incremental() %}
    where uscc in (select uscc from touched)
    {%- endif %}

),

changes as (

    select
        uscc,
        count(*) as change_count,
        max(change_date) as last_change_date
    from {{ changes_model }}
    {%- if is_incremental() %}
    where uscc in (select uscc from touched)
    {%- endif %}
    group by uscc

),

final as (

    select
        registrations.uscc,
        registrations.enterprise_name,
        registrations.enterprise_type,
        {{ sudata.govern('registrations.legal_representative', 'person_name', output_column='legal_representative') }}
            as legal_representative,
        registrations.registered_capital_10k_cny,
        registrations.established_date,
        registrations.status,
        registrations.address,
        registrations.business_scope,
        {{ sudata.govern('registrations.contact_phone', 'phone', output_column='contact_phone') }} as contact_phone,
        registrations.registration_authority,
        coalesce(changes.change_count, 0) as change_count,
        changes.last_change_date,
        registrations.street_code,
        registrations.district_code,
        {{ sudata.upstream_changed_at([registrations_model, changes_model]) }} as _changed_at
    from registrations
    left join changes
        on registrations.uscc = changes.uscc

)

{{ sudata.merge_touched('final', 'touched', key, [
    'uscc', 'enterprise_name', 'enterprise_type', 'legal_representative', 'registered_capital_10k_cny',
    'established_date', 'status', 'address', 'business_scope', 'contact_phone', 'registration_authority',
    'change_count', 'last_change_date', 'street_code', 'district_code', '_changed_at']) }}
