{#
    Governance of personal information in published datasets.

    A mart selects each personal column through govern(column_name, pii). The treatment follows the
    mart's open type, read from its catalog metadata (config.meta.catalog.open_type in the mart's YAML):

      pii            unconditional        conditional / closed
      person_name    mask_person_name     in clear (pseudonymised if the column is graded core)
      phone          mask_phone           in clear (pseudonymised if the column is graded core)
      id_number      pseudonymise         pseudonymise — identity numbers are never in clear anywhere

    The column's YAML meta must agree: `pii` equal to the argument, and `masking` naming the treatment
    applied (none | mask_person_name | mask_phone | pseudonymise). A disagreement stops compilation, so
    changing a mart's open type without revisiting its columns cannot silently publish personal data.
#}

{% macro mask_person_name(col) -%}
    (case
        when {{ col }} is null then null
        when length({{ col }}) <= 1 then '*'
        else {{ dbt.concat(['substr(' ~ col ~ ', 1, 1)', 'repeat(' ~ sudata.sql_literal('*') ~ ', length(' ~ col ~ ') - 1)']) }}
    end)
{%- endmacro %}


{#
    Expects the canonical form of clean_phone. Mobile: 138****1234; landline: the area code stays,
    the subscriber number is starred (0512-********); anything else is starred entirely.
#}
{% macro mask_phone(col) -%}
    {%- set dash = dbt.position("'-'", col) -%}
    (case
        when {{ col }} is null then null
        when {{ sudata.is_mobile_phone(col) }}
            then {{ dbt.concat(['substr(' ~ col ~ ', 1, 3)', "'****'", 'substr(' ~ col ~ ', 8, 4)']) }}
        when {{ dash }} > 1
            then {{ dbt.concat(['substr(' ~ col ~ ', 1, ' ~ dash ~ ')', "repeat('*', length(" ~ col ~ ") - " ~ dash ~ ")"]) }}
        else repeat('*', length({{ col }}))
    end)
{%- endmacro %}


{# The salt of pseudonyms: var pseudonym_salt, else $SUDATA_PSEUDONYM_SALT, else 'sudata'. #}
{% macro pseudonym_salt() -%}
    {{ return(var('pseudonym_salt', env_var('SUDATA_PSEUDONYM_SALT', 'sudata'))) }}
{%- endmacro %}


{# Salted SHA-256 as 64 lower-case hex characters; the same input and salt give the same pseudonym on every engine. #}
{% macro pseudonymise(col) -%}
    (case
        when {{ col }} is null then null
        else {{ sudata.sha256_hex(dbt.concat([sudata.sql_literal(sudata.pseudonym_salt() ~ ':'), col])) }}
    end)
{%- endmacro %}

{% macro sha256_hex(expr) -%}
    {{ return(adapter.dispatch('sha256_hex', 'sudata')(expr)) }}
{%- endmacro %}

{% macro default__sha256_hex(expr) -%}
    sha256({{ expr }})
{%- endmacro %}

{% macro postgres__sha256_hex(expr) -%}
    encode(sha256(convert_to({{ expr }}, 'UTF8')), 'hex')
{%- endmacro %}

{% macro spark__sha256_hex(expr) -%}
    sha2({{ expr }}, 256)
{%- endmacro %}


{# The catalog block of the model being compiled (config.meta.catalog), {} when there is none. #}
{% macro model_catalog() -%}
    {%- set meta = config.get('meta') or {} -%}
    {{ return(meta.get('catalog') or {}) }}
{%- endmacro %}


{# The meta of one column of the model being compiled, from its YAML (config.meta, or legacy meta). #}
{% macro column_meta(column_name) -%}
    {%- set result = {} -%}
    {%- set columns = model.get('columns', {}) if model is mapping else {} -%}
    {%- set column = columns.get(column_name) or {} -%}
    {%- do result.update(column.get('meta') or {}) -%}
    {%- do result.update((column.get('config') or {}).get('meta') or {}) -%}
    {{ return(result) }}
{%- endmacro %}


{# The treatment of a personal column: none | mask_person_name | mask_phone | pseudonymise. #}
{% macro masking_method(open_type, pii, grade='general') -%}
    {%- if pii is none or pii == '' -%}
        {{ return('none') }}
    {%- elif pii == 'id_number' -%}
        {{ return('pseudonymise') }}
    {%- elif open_type in ('conditional', 'closed') -%}
        {{ return('pseudonymise' if grade == 'core' else 'none') }}
    {%- elif pii == 'person_name' -%}
        {{ return('mask_person_name') }}
    {%- elif pii == 'phone' -%}
        {{ return('mask_phone') }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("unknown pii kind '" ~ pii ~ "' (expected person_name, phone or id_number)") }}
    {%- endif -%}
{%- endmacro %}


{#
    govern(column_name, pii, output_column=none): the governed expression for column_name. The YAML
    meta checked is that of output_column when the mart publishes the value under another name
    (e.g. a pseudonymised identity number published as legal_rep_pseudonym).
#}
{% macro govern(column_name, pii=none, output_column=none) -%}
    {%- set catalog = sudata.model_catalog() -%}
    {%- set open_type = catalog.get('open_type') -%}
    {%- set published_as = output_column or column_name -%}
    {%- set meta = sudata.column_meta(published_as) -%}
    {%- set pii = pii if pii is not none else meta.get('pii') -%}
    {%- set method = sudata.masking_method(open_type, pii, meta.get('grade', 'general')) -%}
    {%- if execute -%}
        {%- set where = model.name ~ '.' ~ published_as -%}
        {%- if open_type not in ('unconditional', 'conditional', 'closed') -%}
            {{ exceptions.raise_compiler_error(model.name ~ ": govern() needs config.meta.catalog.open_type (unconditional | conditional | closed) in the model's YAML, found " ~ open_type) }}
        {%- endif -%}
        {%- if (meta.get('pii') or none) != (pii or none) -%}
            {{ exceptions.raise_compiler_error(where ~ ": govern() was called with pii=" ~ pii ~ " but the column's YAML meta says pii=" ~ meta.get('pii')) }}
        {%- endif -%}
        {%- if meta.get('masking', 'none') != method -%}
            {{ exceptions.raise_compiler_error(where ~ ": a " ~ open_type ~ " dataset applies masking '" ~ method ~ "' to this " ~ pii ~ " column but its YAML meta says masking: " ~ meta.get('masking', 'none')) }}
        {%- endif -%}
    {%- endif -%}
    {%- if method == 'mask_person_name' -%}
        {{ sudata.mask_person_name(column_name) }}
    {%- elif method == 'mask_phone' -%}
        {{ sudata.mask_phone(column_name) }}
    {%- elif method == 'pseudonymise' -%}
        {{ sudata.pseudonymise(column_name) }}
    {%- else -%}
        {{ column_name }}
    {%- endif -%}
{%- endmacro %}
