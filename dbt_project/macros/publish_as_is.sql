{#
    publish_as_is(dataset): the mart of a source published as it is, declared by the `publish:` block of
    its registry entry: the declared columns of int_<source>__deduped, in the declared order, each
    personal column governed (masked or pseudonymised) as its grade and the dataset's open type require.
    The catalog metadata, column texts and tests are in the generated YAML beside it.

    Incremental by key (macros/incremental.sql): a night governs only the rows of the intermediate model
    changed since the last build, and the keys the intermediate model no longer holds leave as tombstones.
#}
{% macro publish_as_is(dataset) -%}
{%- set d = sudata.declarations()['datasets'][dataset] -%}
{%- set s = sudata.declarations()['sources'][d['source']] -%}
{%- set pii = {} -%}
{%- for c in s['columns'] if c.get('pii') -%}{%- do pii.update({c['staged']: c['pii']}) -%}{%- endfor -%}
{%- set key = s['key'] -%}
{%- set intermediate = ref('int_' ~ d['source'] ~ '__deduped') -%}
with

rows as (

    select * from {{ intermediate }}
    {{ sudata.changed_since_built() }}

),
{%- if is_incremental() %}

touched as (

    select {{ key | join(', ') }} from rows
    union
    {{ sudata.withdrawn_keys(intermediate, key) }}

),
{%- endif %}

final as (

    select
        {%- for column in d['columns'] %}
        {%- if column in pii %}
        {{ sudata.govern(column, pii[column]) }} as {{ column }},
        {%- else %}
        {{ column }},
        {%- endif %}
        {%- endfor %}
        {#- the drop that delivered the row: its part of the published files (sudata.parts) #}
        _drop_date,
        _changed_at
    from rows

)

{{ sudata.merge_touched('final', 'touched', key, d['columns'] + ['_drop_date', '_changed_at']) }}
{%- endmacro %}
