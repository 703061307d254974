{#
    Addresses standardised to the streets and county-level units of the seed, as CTEs a model includes:

        with
        staged as (...),
        {{ sudata.address_street_ctes('staged', 'address') }},
        located as (... left join addresses on staged.address = addresses.address ...)

    defines `addresses` (or `name`): one row per distinct address of `relation` with street_code,
    district_code and matched_by ('street_name' | 'district_name' | null), plus helper CTEs prefixed
    with the same name. Each model matches only its own addresses, so a published dataset depends on
    its own sources and the seed, never on another department's delivery.

    Rules: a street's name (int_street_aliases, half-width: the official name and, for names with a parenthesis,
    its parts) is looked for in the text; the longest matching name wins; a name that occurs inside
    another street's name (开发区 inside 昆山开发区) counts only when the address names the street's
    county-level unit; a street of another county-level unit than the one the address names never
    matches; a tie between different streets leaves the street unknown. With no street but exactly one
    county-level unit named (int_district_aliases), only district_code is set.
#}
{% macro address_street_ctes(relation, address_column, name='addresses') -%}
{{ name }}__texts as (

    {#- names are looked for in the half-width form: free text keeps its full-width punctuation #}
    select distinct
        {{ address_column }} as address,
        {{ sudata.to_halfwidth(address_column) }} as match_text
    from {{ relation }}
    where {{ address_column }} is not null

),

{{ name }}__districts as (

    select
        texts.address,
        min(aliases.district_code) as district_code,
        count(distinct aliases.district_code) as districts_named
    from {{ name }}__texts as texts
    inner join {{ ref('int_district_aliases') }} as aliases
        on {{ dbt.position('aliases.alias', 'texts.match_text') }} > 0
    group by texts.address

),

{{ name }}__hits as (

    select
        texts.address,
        aliases.street_code,
        aliases.district_code,
        aliases.alias_length,
        max(aliases.alias_length) over (partition by texts.address) as best_length
    from {{ name }}__texts as texts
    inner join {{ ref('int_street_aliases') }} as aliases
        on {{ dbt.position('aliases.alias', 'texts.match_text') }} > 0
    left join {{ name }}__districts as named
        on texts.address = named.address
    where
        (named.address is null or (named.districts_named = 1 and named.district_code = aliases.district_code))
        and (not aliases.needs_district or named.district_code = aliases.district_code)

),

{{ name }}__winners as (

    select
        address,
        min(street_code) as street_code,
        min(district_code) as district_code,
        count(distinct street_code) as candidates
    from {{ name }}__hits
    where alias_length = best_length
    group by address

),

{{ name }} as (

    select
        texts.address,
        case when winners.candidates = 1 then winners.street_code end as street_code,
        case
            when winners.candidates = 1 then winners.district_code
            when named.districts_named = 1 then named.district_code
        end as district_code,
        case
            when winners.candidates = 1 then 'street_name'
            when named.districts_named = 1 then 'district_name'
        end as matched_by
    from {{ name }}__texts as texts
    left join {{ name }}__winners as winners
        on texts.address = winners.address
    left join {{ name }}__districts as named
        on texts.address = named.address

)
{%- endmacro %}
