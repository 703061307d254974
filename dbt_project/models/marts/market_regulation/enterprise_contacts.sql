{#
    Closed dataset for grassroots units (Su Online): who to call about an enterprise in the street.
    Names and phones in clear; the legal representative's identity number only as a pseudonym, which
    lets a street match the same person across enterprises without ever seeing the number.

    Incremental by enterprise (macros/incremental.sql): a night recomputes the enterprises whose
    registration changed, and withdraws those whose registration went.
#}
{%- set key = ['uscc'] %}
{%- set registrations_model = ref('int_enterprise_registrations__deduped') %}
{{ config(unique_key=key) }}

with

enterprises as (

    select * from {{ registrations_model }}
    {{ sudata.changed_since_built() }}

),
{%- if is_incremental() %}

touched as (

    select uscc from enterprises
    union
    {{ sudata.withdrawn_keys(registrations_model, key) }}

),
{%- endif %}

final as (

    select
        uscc,
        enterprise_name,
        status,
        {{ sudata.govern('legal_representative', 'person_name') }} as legal_representative,
        {{ sudata.govern('legal_rep_id_number', 'id_number', output_column='legal_rep_pseudonym') }} as legal_rep_pseudonym,
        {{ sudata.govern('contact_phone', 'phone') }} as contact_phone,
        address,
        street_code,
        district_code,
        {#- the drop that delivered the row: its part of the published files (sudata.parts) #}
        _drop_date,
        _changed_at
    from enterprises

)

{{ sudata.merge_touched('final', 'touched', key, [
    'uscc', 'enterprise_name', 'status', 'legal_representative', 'legal_rep_pseudonym', 'contact_phone',
    'address', 'street_code', 'district_code', '_drop_date', '_changed_at']) }}
