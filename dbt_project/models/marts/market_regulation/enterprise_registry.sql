{#
    Registered enterprises only: the registration (latest correction) and its changes. The licences and
    penalties are published by the credit office in their own datasets, so a late credit delivery never
    holds back the registry.
#}

with

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
        registrations.district_code
    from registrations
    left join changes
        on registrations.uscc = changes.uscc

)

select * from final
