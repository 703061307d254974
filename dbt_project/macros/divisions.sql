{#
    Street codes as delivered → current street codes of the seed.

    A delivered code is 'current' (in the seed), 'remapped' (a current street delivered under the
    county-level code it had before a re-division: the prefix is replaced by its successor from
    suzhou_division_changes and the result is a current code, e.g. 320504017 → 320508017),
    'outdated' (a retired prefix without a usable successor) or 'unknown' (exists nowhere).

    Staging joins the seeds (street_code_joins) and exposes street_code (current or remapped, else
    null), district_code, street_code_delivered and street_code_status (street_code_columns). The
    intermediate models then derive a street from the address where the code is unusable, and reject
    the row only when that fails too (street_code_reject_reason).
#}

{# The joins, in a staging model with CTEs `streets` (ref suzhou_streets) and `retired` (ref suzhou_division_changes). #}
{% macro street_code_joins(column) -%}
    left join streets
        on {{ column }} = streets.code
    left join retired
        on substr({{ column }}, 1, 6) = retired.code
    left join streets as successors
        on {{ dbt.concat(['retired.replaced_by', 'substr(' ~ column ~ ', 7)']) }} = successors.code
{%- endmacro %}

{% macro street_code_columns(column) -%}
        {{ column }} as street_code_delivered,
        coalesce(streets.code, successors.code) as street_code,
        coalesce(streets.district_code, successors.district_code) as district_code,
        case
            when {{ column }} is null then null
            when streets.code is not null then 'current'
            when successors.code is not null then 'remapped'
            when retired.code is not null then 'outdated'
            else 'unknown'
        end as street_code_status
{%- endmacro %}


{#
    Why a staged row (alias `row`) cannot be placed in a street: its delivered code is unknown or
    outdated and, when the source has an address (alias `address_match`, a row of the `addresses` CTE
    of address_street_ctes), the address names no street either. Null when the row is placeable
    (or simply has no street code: the column is optional for most sources).
#}
{% macro street_code_reject_reason(row, address_match=none) -%}
    (case
        when {{ row }}.street_code is null
            and {{ row }}.street_code_status in ('unknown', 'outdated')
            {%- if address_match %}
            and {{ address_match }}.street_code is null
            {%- endif %}
            then case
                when {{ row }}.street_code_status = 'outdated' then 'outdated_division_code:street_code'
                else 'unknown_division_code:street_code'
            end
    end)
{%- endmacro %}


{#
    A county-level division code as delivered → the current code of the seed. The city's own code
    (var city_division_code) stands for data that covers the whole city (a city-level station); a
    pre-2012 code is replaced by its successor from suzhou_division_changes. Used by the standard staging
    with CTEs `districts` (the seed's county-level codes) and `retired`.
#}
{% macro division_code_joins(column) -%}
    left join districts
        on {{ column }} = districts.district_code
    left join retired
        on {{ column }} = retired.code
    left join districts as successors
        on retired.replaced_by = successors.district_code
{%- endmacro %}

{% macro division_code_columns(column) -%}
        {%- set name = column.split('.')[-1] %}
        {{ column }} as {{ name }}_delivered,
        case
            when {{ column }} = '{{ var("city_division_code") }}' then {{ column }}
            else coalesce(districts.district_code, successors.district_code)
        end as {{ name }},
        case
            when {{ column }} is null then null
            when {{ column }} = '{{ var("city_division_code") }}' or districts.district_code is not null then 'current'
            when successors.district_code is not null then 'remapped'
            when retired.code is not null then 'outdated'
            else 'unknown'
        end as {{ name }}_status
{%- endmacro %}
