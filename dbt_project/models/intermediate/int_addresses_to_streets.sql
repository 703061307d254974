{#
    Every distinct address of the valid staged rows, standardised to a street/town code of the seed by
    finding a street's name inside the text, and to a county-level code.

    Rules: the longest matching alias wins; an alias that is ambiguous on its own (see
    int_street_aliases.needs_district) counts only when the address names the street's county-level
    unit; a street in another county-level unit than the one the address names never matches; a tie
    between different streets leaves the street unknown. When no street matches but exactly one
    county-level unit is named, only district_code is set.
#}

{%- set address_columns = [
    ('stg_enterprise_registrations', 'address'),
    ('stg_communities', 'address'),
    ('stg_elderly_care_facilities', 'address'),
    ('stg_medical_institutions', 'address'),
    ('stg_schools', 'address'),
    ('stg_scenic_spots', 'address'),
    ('stg_public_parking', 'address'),
    ('stg_job_postings', 'work_address'),
] %}

with

addresses as (

    {% for model_name, column in address_columns %}
    select {{ column }} as address
    from {{ ref(model_name) }}
    where reject_reason is null and {{ column }} is not null
    {% if not loop.last %}union{% endif %}
    {% endfor %}

),

street_aliases as (

    select * from {{ ref('int_street_aliases') }}

),

district_aliases as (

    select * from {{ ref('int_district_aliases') }}

),

named_districts as (

    select
        addresses.address,
        min(district_aliases.district_code) as district_code,
        count(distinct district_aliases.district_code) as districts_named
    from addresses
    inner join district_aliases
        on {{ dbt.position('district_aliases.alias', 'addresses.address') }} > 0
    group by addresses.address

),

street_hits as (

    select
        addresses.address,
        street_aliases.street_code,
        street_aliases.district_code,
        street_aliases.alias_length
    from addresses
    inner join street_aliases
        on {{ dbt.position('street_aliases.alias', 'addresses.address') }} > 0
    left join named_districts
        on addresses.address = named_districts.address
    where
        (named_districts.address is null or named_districts.districts_named = 1 and named_districts.district_code = street_aliases.district_code)
        and (not street_aliases.needs_district or named_districts.district_code = street_aliases.district_code)

),

best_length as (

    select address, max(alias_length) as alias_length
    from street_hits
    group by address

),

winners as (

    select
        street_hits.address,
        min(street_hits.street_code) as street_code,
        min(street_hits.district_code) as district_code,
        count(distinct street_hits.street_code) as candidates
    from street_hits
    inner join best_length
        on street_hits.address = best_length.address
        and street_hits.alias_length = best_length.alias_length
    group by street_hits.address

),

final as (

    select
        addresses.address,
        case when winners.candidates = 1 then winners.street_code end as street_code,
        case
            when winners.candidates = 1 then winners.district_code
            when named_districts.districts_named = 1 then named_districts.district_code
        end as district_code,
        case
            when winners.candidates = 1 then 'street_name'
            when named_districts.districts_named = 1 then 'district_name'
        end as matched_by
    from addresses
    left join winners
        on addresses.address = winners.address
    left join named_districts
        on addresses.address = named_districts.address

)

select * from final
