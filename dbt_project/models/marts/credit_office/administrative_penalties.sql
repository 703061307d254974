with

penalties as (

    select * from {{ ref('int_administrative_penalties__deduped') }}

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
        penalties.penalty_number,
        penalties.party_name,
        penalties.uscc,
        {{ sudata.govern('penalties.legal_representative', 'person_name', output_column='legal_representative') }} as legal_representative,
        penalties.violation_type,
        penalties.penalty_content,
        penalties.fine_amount_10k_cny,
        penalties.decision_date,
        penalties.authority,
        registrations.street_code,
        coalesce(registrations.district_code, districts.district_code) as district_code,
        {# the drop that delivered the row: its part of the published files (sudata.parts) #}
        penalties._drop_date
    from penalties
    left join registrations
        on penalties.uscc = registrations.uscc
    left join districts
        on substr(penalties.uscc, 3, 6) = districts.district_code

)

select * from final
