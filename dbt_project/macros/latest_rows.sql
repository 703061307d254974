{#
    latest_rows(source_id): the model pattern of every int_<source>__deduped — the usable rows of a
    declared source, placed in a street, one per primary key:

        staged   the staged rows without a reject_reason (the others are in int_quarantined_rows)
        located  the street and district: the delivered code when current or remapped, else the one the
                 address names (address_street_ctes); a row that can be placed nowhere, or that names a
                 record missing from the source it references, is left out (and quarantined)
        latest   latest_correction: a later delivery of the same key is a correction and wins
        final    the declared columns, the source's rule columns, the location and the lineage

    street_code_origin: declared | remapped (pre-2012 prefix replaced) | address.

    Incremental by key (macros/incremental.sql): a night recomputes, over the whole staged history of
    each, only the keys it touched: the keys of the drops staged since the last build, the keys whose row
    came from a date delivered again (a corrected redelivery may no longer hold them: they leave as
    tombstones), and the keys whose referenced record appeared or went.
#}
{% macro latest_rows(source_id) -%}
{%- set s = sudata.declarations()['sources'][source_id] -%}
{%- set street = s.get('street') -%}
{%- set address = s.get('address') -%}
{%- set columns = sudata.carried_columns(s) -%}
{%- set key = s['key'] -%}
{%- set keys = key | join(', ') -%}
{%- set staging = ref('stg_' ~ source_id) -%}
with
{%- if is_incremental() %}

arrived as (

    select {{ keys }}, _drop_date, _loaded_at
    from {{ staging }}
    {{ sudata.new_drops_only(watermark='_changed_at') }}

),

touched as (

    select {{ keys }} from arrived
    union
    select {{ keys }} from {{ this }}
    where _drop_date in (select _drop_date from arrived)
    {%- for column, target in s['references'].items() %}
    {%- set referenced = ref('int_' ~ target['source'] ~ '__deduped') %}
    union
    select {{ keys }} from {{ staging }}
    where {{ column }} in (select {{ target['column'] }} from {{ referenced }} {{ sudata.changed_since_built() }})
    union
    select {{ keys }} from {{ this }}
    where {{ column }} not in (select {{ target['column'] }} from {{ referenced }})
    {%- endfor %}

),

{# the load time of the newest drop behind tonight's changes: the _changed_at of every recomputed key #}
tonight as (

    select max(changed_at) as changed_at
    from (
        select _loaded_at as changed_at from arrived
        {%- for column, target in s['references'].items() %}
        union all
        select max(_changed_at) as changed_at from {{ ref('int_' ~ target['source'] ~ '__deduped') }}
        {%- endfor %}
    ) as stamps

),

staged as (

    select staged_rows.*
    from {{ staging }} as staged_rows
    inner join touched
        on {{ sudata.keys_equal('staged_rows', 'touched', key) }}
    where staged_rows.reject_reason is null

),
{%- else %}

staged as (

    select * from {{ staging }}
    where reject_reason is null

),
{%- endif %}
{%- if address %}

{{ sudata.address_street_ctes('staged', address) }},
{%- endif %}
{%- for column, target in s['references'].items() %}

known_{{ column }} as (

    select {{ target['column'] }} as value from {{ ref('int_' ~ target['source'] ~ '__deduped') }}

),
{%- endfor %}

located as (

    select
        {%- for c in columns %}
        staged.{{ c }},
        {%- endfor %}
        {%- if street and address %}
        coalesce(staged.street_code, addresses.street_code) as street_code,
        coalesce(staged.district_code, addresses.district_code) as district_code,
        case
            when staged.street_code_status = 'current' then 'declared'
            when staged.street_code_status = 'remapped' then 'remapped'
            when addresses.street_code is not null then 'address'
        end as street_code_origin,
        {%- elif street %}
        staged.street_code,
        staged.district_code,
        case
            when staged.street_code_status = 'current' then 'declared'
            when staged.street_code_status = 'remapped' then 'remapped'
        end as street_code_origin,
        {%- elif address %}
        addresses.street_code,
        addresses.district_code,
        case when addresses.street_code is not null then 'address' end as street_code_origin,
        {%- endif %}
        staged._source_file,
        staged._drop_date,
        staged._row_number,
        staged._loaded_at
    from staged
    {%- if address %}
    left join addresses
        on staged.{{ address }} = addresses.address
    {%- endif %}
    where 1 = 1
    {%- if street %}
        and {{ sudata.street_code_reject_reason('staged', 'addresses' if address else none) }} is null
    {%- endif %}
    {%- for column in s['references'] %}
        and staged.{{ column }} in (select value from known_{{ column }})
    {%- endfor %}

),

latest as (

    {{ sudata.latest_correction('located', s['key']) }}

),

final as (

    select
        {%- for c in columns + sudata.location_columns(s) %}
        {{ c }},
        {%- endfor %}
        _source_file,
        _drop_date,
        _row_number,
        {%- if is_incremental() %}
        (select changed_at from tonight) as _changed_at
        {%- else %}
        _loaded_at as _changed_at
        {%- endif %}
    from latest

)

{{ sudata.merge_touched('final', 'touched', key, columns + sudata.location_columns(s)
                        + ['_source_file', '_drop_date', '_row_number', '_changed_at']) }}
{%- endmacro %}


{# The staged columns an intermediate model carries: every declared and rule column but the street code,
   which the location replaces. #}
{% macro carried_columns(s) -%}
    {%- set out = [] -%}
    {%- for c in s['columns'] + s['rules'] if c['type'] != 'street_code' -%}
        {%- do out.append(c['staged']) -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}


{% macro location_columns(s) -%}
    {{ return(['street_code', 'district_code', 'street_code_origin'] if s.get('street') or s.get('address') else []) }}
{%- endmacro %}
