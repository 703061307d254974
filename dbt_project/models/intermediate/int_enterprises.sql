{#
    The enterprise master: one row per valid unified social credit code that is registered or named in
    a licence or a penalty. Registration attributes come from the latest registration correction; changes,
    licences and penalties contribute counts and last dates. An enterprise known only from licences or
    penalties (registered outside Suzhou, or not yet delivered) has is_registered = false and takes its
    name from its most recent licence or penalty.
#}

with

{# the county-level units: where an enterprise is registered when no address places it (USCC characters 3-8) #}
districts as (

    select distinct district_code from {{ ref('suzhou_streets') }}

),

registrations as (

    select * from {{ ref('int_enterprise_registrations__deduped') }}

),

changes as (

    select
        uscc,
        count(*) as change_count,
        max(change_date) as last_change_date
    from {{ ref('int_enterprise_changes__deduped') }}
    group by uscc

),

licence_rows as (

    select * from {{ ref('int_administrative_licences__deduped') }}

),

penalty_rows as (

    select * from {{ ref('int_administrative_penalties__deduped') }}

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
        registrations._drop_date as registration_drop_date

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

select * from final
