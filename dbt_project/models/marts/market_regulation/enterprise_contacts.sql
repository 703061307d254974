{#
    Closed dataset for grassroots units (Su Online): who to call about an enterprise in the street.
    Names and phones in clear; the legal representative's identity number only as a pseudonym, which
    lets a street match the same person across enterprises without ever seeing the number.
#}

with

enterprises as (

    select * from {{ ref('int_enterprise_registrations__deduped') }}

),

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
        district_code
    from enterprises

)

select * from final
