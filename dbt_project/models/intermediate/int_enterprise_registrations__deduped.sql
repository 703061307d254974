{#
    enterprise_registrations: the valid rows (reject_reason is null; the others are in int_quarantined_rows), one per
    uscc: a later delivery of the same key is a correction and wins (latest _drop_date,
    then the highest _row_number).
    The street is derived from the address (address_street_ctes; the source has no street code).
#}

with

staged as (

    select * from {{ ref('stg_enterprise_registrations') }}
    where reject_reason is null

),

{{ sudata.address_street_ctes('staged', 'address') }},

located as (

    select
        staged.uscc,
        staged.enterprise_name,
        staged.enterprise_type,
        staged.legal_representative,
        staged.legal_rep_id_number,
        staged.registered_capital_10k_cny,
        staged.established_date,
        staged.status,
        staged.address,
        staged.business_scope,
        staged.contact_phone,
        staged.registration_authority,
        addresses.street_code,
        addresses.district_code,
        case when addresses.street_code is not null then 'address' end as street_code_origin,
        staged._source_file,
        staged._drop_date,
        staged._row_number
    from staged
    left join addresses
        on staged.address = addresses.address

),

latest as (

    {{ sudata.latest_correction('located', ['uscc']) }}

),

final as (

    select
        uscc,
        enterprise_name,
        enterprise_type,
        legal_representative,
        legal_rep_id_number,
        registered_capital_10k_cny,
        established_date,
        status,
        address,
        business_scope,
        contact_phone,
        registration_authority,
        street_code,
        district_code,
        street_code_origin,
        _source_file,
        _drop_date,
        _row_number
    from latest

)

select * from final
