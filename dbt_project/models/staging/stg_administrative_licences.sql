{#- administrative_licences: the source's own rules on top of the standard staging (macros/staging.sql) -#}

{#- a licence without end date: its valid-until is one of the spellings the registry declares as no value -#}
{%- set long_term = [] -%}
{%- for c in sudata.declarations()['sources']['administrative_licences']['columns'] if c['name'] == 'valid_until' -%}
    {%- for v in c['none_values'] %}{% do long_term.append(sudata.sql_literal(v)) %}{% endfor -%}
{%- endfor -%}
{%- set is_long_term -%}
    coalesce(cleaned.valid_until in ({{ long_term | join(', ') }}), false)
{%- endset -%}

{{ sudata.standard_staging('administrative_licences', rules={'is_long_term': is_long_term}) }}
