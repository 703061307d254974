{#
    The enterprise master: one row per valid unified social credit code that is registered or named in
    a licence or a penalty. Registration attributes come from the latest registration correction; changes,
    licences and penalties contribute counts and last dates. An enterprise known only from licences or
    penalties (registered outside Suzhou, or not yet delivered) has is_registered = false and takes its
    name from its most recent licence or penalty.

    Incremental by enterprise (macros/incremental.sql): a night recomputes the enterprises with a changed
    registration, change, licence or penalty, and those that lost one.
#}
{%- set key = ['uscc'] %}
{%- set upstream = {
    'registrations': ref('int_enterprise_registrations__deduped'),
    'changes': ref('int_enterprise_changes__deduped'),
    'licences': ref('int_administrative_licences__deduped'),
    'penalties': ref('int_administrative_penalties__deduped'),
} %}
{#- the column of this model that counts an enterprise's rows of each upstream model #}
{%- set counted = {
    'registrations': 'case when is_registered then 1 else 0 end',
    'changes': 'change_count',
    'licences': 'licence_count',
    'penalties': 'penalty_count',
} %}
{%- set touched_only = '\n    where uscc in (select uscc from touched)' if is_incremental() else '' %}
{{ config(unique_key=key) }}

with
{%- if is_incremental() %}

touched as (
    {%- for name, relation in upstream.items() %}

    {{ sudata.changed_keys(relation, key) }}
    union
    {{ sudata.recounted_keys(relation, key, counted[name]) }}
    {%- if not loop.last %}
    union
    {%- endif %}
    {%- endfor %}

),
{%- endif %}

{# the county-level units: where an enterprise is registered when no address places it (USCC characters 3-8) #}
districts as (

    select distinct district_code from {{ ref('suzhou_streets') }}

),

registrations as (

    select * from {{ upstream['registrations'] }}{{ touched_only }}

),

changes as (

    select
        uscc,
        count(*) as change_count,
        max(change_date) as last_change_date
    from {{ upstream['changes'] }}{{ touched_only }}
    group by uscc

),

licence_rows as (

    select * from {{ upstream['licences'] }}{{ touched_only }}

),

penalty_rows as (

    select * from {{ upstream['penalties'] }}{{ touched_only }}

),

licences as (

    select
        uscc,
        count(*) as licence_count,
        max(decision_date) as last_licence_date
    from licence_rows
    group by uscc

),

penalties as (

    select
        uscc,
        count(*) as penalty_count,
        max(decision_date) as last_penalty_date,
        sum(fine_amount_10k_cny) as total_fine_10k_cny
    from penalty_rows
    group by uscc

),

{# the name an enterprise bears in its most recent licence or penalty #}
named_in_records as (

    select uscc, holder_name as enterprise_name, legal_representative, decision_date, licence_number as record_number
    from licence_rows

    union all

    select uscc, party_name as enterprise_name, legal_representative, decision_date, penalty_number as record_number
    from penalty_rows

),

latest_record_name as (

    select uscc, enterprise_name, legal_representative
    from (
        select
            named_in_records.*,
            row_number() over (
                partition by named_in_records.uscc
                order by named_in_records.decision_date desc, named_in_records.record_number desc
            ) as recency
        from named_in_records
    ) as ranked
    where recency = 1

),

all_enterprises as (

    {# changes describe a registration: on their own they do not make an enterprise #}
    select uscc from registrations
    union
    select uscc from licences
    union
    select uscc from penalties

),

final as (

    select
        all_enterprises.uscc,
        coalesce(registrations.enterprise_name, latest_record_name.enterprise_name) as enterprise_name,
        registrations.enterprise_type,
        coalesce(registrations.legal_representative, latest_record_name.legal_representative) as legal_representative,
        registrations.legal_rep_id_number,
        registrations.registered_capital_10k_cny,
        registrations.established_date,
        registrations.status,
        registrations.address,
        registrations.business_scope,
        registrations.contact_phone,
        registrations.registration_authority,
        registrations.street_code,
        {# the registering authority's division code is in the USCC (characters 3-8) #}
        coalesce(registrations.district_code, districts.district_code) as district_code,
        registrations.street_code_origin,
        registrations.uscc is not null as is_registered,
        coalesce(changes.change_count, 0) as change_count,
        changes.last_change_date,
        coalesce(licences.licence_count, 0) as licence_count,
        licences.last_licence_date,
        coalesce(penalties.penalty_count, 0) as penalty_count,
        penalties.last_penalty_date,
        coalesce(penalties.total_fine_10k_cny, 0) as total_fine_10k_cny,
        registrations._drop_date as registration_drop_date,
        {{ sudata.upstream_changed_at(upstream.values() | list) }} as _changed_at

    from all_enterprises
    left join registrations
        on all_enterprises.uscc = registrations.uscc
    left join changes
        on all_enterprises.uscc = changes.uscc
    left join licences
        on all_enterprises.uscc = licences.uscc
    left join penalties
        on all_enterprises.uscc = penalties.uscc
    left join latest_record_name
        on all_enterprises.uscc = latest_record_name.uscc
    left join districts
        on substr(all_enterprises.uscc, 3, 6) = districts.district_code

)

{{ sudata.merge_touched('final', 'touched', key, [
    'uscc', 'enterprise_name', 'enterprise_type', 'legal_representative', 'legal_rep_id_number',
    'registered_capital_10k_cny', 'established_date', 'status', 'address', 'business_scope', 'contact_phone',
    'registration_authority', 'street_code', 'district_code', 'street_code_origin', 'is_registered',
    'change_count', 'last_change_date', 'licence_count', 'last_licence_date', 'penalty_count',
    'last_penalty_date', 'total_fine_10k_cny', 'registration_drop_date', '_changed_at']) }}
