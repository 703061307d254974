{#- administrative_licences: the source's own rules on top of the standard staging (macros/staging.sql) -#}

{#- a licence without end date is written 长期 and the like in the valid-until column -#}
{%- set is_long_term -%}
    coalesce(cleaned.valid_until in ('长期', '长期有效', '永久', '无固定期限'), false)
{%- endset -%}

{{ sudata.standard_staging('administrative_licences', rules={'is_long_term': is_long_term}) }}
