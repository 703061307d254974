with

enterprises as (

    select * from {{ ref('int_enterprises') }}
    where is_registered

),

final as (

    select
        uscc,
        enterprise_name,
        enterprise_type,
        {{ sudata.govern('legal_representative', 'person_name') }} as legal_representative,
        registered_capital_10k_cny,
        established_date,
        status,
        address,
        business_scope,
        {{ sudata.govern('contact_phone', 'phone') }} as contact_phone,
        registration_authority,
        change_count,
        last_change_date,
        street_code,
        district_code
    from enterprises

)

select * from final
