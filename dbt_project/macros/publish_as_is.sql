{#
    publish_as_is(dataset): the mart of a source published as it is, declared by the `publish:` block of
    its registry entry: the declared columns of int_<source>__deduped, in the declared order, each
    personal column governed (masked or pseudonymised) as its grade and the dataset's open type require.
    The catalog metadata, column texts and tests are in the generated YAML beside it.
#}
{% macro publish_as_is(dataset) -%}
{%- set d = sudata.declarations()['datasets'][dataset] -%}
{%- set s = sudata.declarations()['sources'][d['source']] -%}
{%- set pii = {} -%}
{%- for c in s['columns'] if c.get('pii') -%}{%- do pii.update({c['staged']: c['pii']}) -%}{%- endfor -%}
with

rows as (

    select * from {{ ref('int_' ~ d['source'] ~ '__deduped') }}

),

final as (

    select
        {%- for column in d['columns'] %}
        {%- if column in pii %}
        {{ sudata.govern(column, pii[column]) }} as {{ column }}{% if not loop.last %},{% endif %}
        {%- else %}
        {{ column }}{% if not loop.last %},{% endif %}
        {%- endif %}
        {%- endfor %}
    from rows

)

select * from final
{%- endmacro %}
