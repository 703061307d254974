{#
    Model-level test of the publication rule on personal information, driven by the model's own YAML:
    its catalog open_type and each column's meta pii.

      every mart       a column with pii: id_number holds only pseudonyms (64 hex characters)
      unconditional    pii: person_name holds only masked names (first character, then '*'),
                       pii: phone holds only masked numbers (a '*' present, never a whole mobile),
                       and no text column holds a whole valid identity number or mobile number.

    Failing rows name the column and the kind of leak; the leaked value itself is never returned.
#}
{% test no_clear_pii(model) %}

{%- set checks = [] -%}
{%- if execute -%}
    {%- set node = sudata._tested_model_node(model) -%}
    {%- set meta = {} -%}
    {%- do meta.update(node.get('meta') or {}) -%}
    {%- do meta.update((node.get('config') or {}).get('meta') or {}) -%}
    {%- set open_type = (meta.get('catalog') or {}).get('open_type') -%}
    {%- if open_type not in ('unconditional', 'conditional', 'closed') -%}
        {{ exceptions.raise_compiler_error(node.name ~ ": no_clear_pii needs config.meta.catalog.open_type") }}
    {%- endif -%}
    {%- for column in node.columns.values() -%}
        {%- set column_meta = {} -%}
        {%- do column_meta.update(column.get('meta') or {}) -%}
        {%- do column_meta.update((column.get('config') or {}).get('meta') or {}) -%}
        {%- set pii = column_meta.get('pii') -%}
        {%- set c = column.name -%}
        {%- set data_type = (column.get('data_type') or 'varchar') | lower -%}
        {%- set is_text = data_type.startswith('varchar') or data_type in ('text', 'string') -%}
        {%- if pii == 'id_number' -%}
            {%- do checks.append((c, 'id_number_not_pseudonymised',
                "length(" ~ c ~ ") <> 64 or translate(lower(" ~ c ~ "), '0123456789abcdef', '') <> ''")) -%}
        {%- endif -%}
        {%- if open_type == 'unconditional' -%}
            {%- if pii == 'person_name' -%}
                {%- do checks.append((c, 'person_name_in_clear',
                    "(length(" ~ c ~ ") = 1 and " ~ c ~ " <> '*') or replace(substr(" ~ c ~ ", 2), '*', '') <> ''")) -%}
            {%- elif pii == 'phone' -%}
                {%- do checks.append((c, 'phone_in_clear',
                    dbt.position("'*'", c) ~ " = 0 or " ~ sudata.is_mobile_phone(c))) -%}
            {%- endif -%}
            {%- if is_text and pii is none -%}
                {#- the length first: upper() of every value costs more than all the rest, and no value of
                    another length upper-cases into an 18-character identity number #}
                {%- do checks.append((c, 'identity_number_in_text',
                    "length(" ~ c ~ ") = 18 and " ~ sudata.is_valid_id_number('upper(' ~ c ~ ')'))) -%}
                {%- do checks.append((c, 'mobile_number_in_text', sudata.is_mobile_phone(c))) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif %}

{% if checks | length == 0 %}
select
    cast(null as {{ dbt.type_string() }}) as column_name,
    cast(null as {{ dbt.type_string() }}) as leak
from {{ model }}
where 1 = 0
{% else %}
{% for column_name, leak, condition in checks %}
select
    cast('{{ column_name }}' as {{ dbt.type_string() }}) as column_name,
    cast('{{ leak }}' as {{ dbt.type_string() }}) as leak
from {{ model }}
where {{ column_name }} is not null
    and ({{ condition }})
{% if not loop.last %}union all{% endif %}
{% endfor %}
{% endif %}

{% endtest %}

