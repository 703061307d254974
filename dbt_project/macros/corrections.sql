{#
    Departments correct a record by delivering it again. The version that counts is the latest one:
    latest _drop_date, then the highest _row_number (later in the file), then _source_file as a
    deterministic tie-break.

    latest_correction(relation, key_columns): the rows of relation (a ref or a CTE name) whose key is
    not delivered again later. Over a whole history this is one window per key; an incremental model
    that processes one drop at a time gets the same result by merging on the key (unique_key), which
    is why models select from it before anything else.
#}
{% macro latest_correction(relation, key_columns) -%}
    select *
    from (
        select
            candidates.*,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by _drop_date desc, _row_number desc, _source_file desc
            ) as _correction_rank
        from {{ relation }} as candidates
    ) as ranked
    where _correction_rank = 1
{%- endmacro %}


{# The primary key of a row as one text value (components joined with '|', missing ones empty). #}
{% macro key_text(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '')") -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}


{#
    The first `when` branches of a reject_reason case: one per mandatory column, in order,
    'missing_required:<column>' when the cleaned value is null.
#}
{% macro missing_required_reasons(columns) -%}
    {%- for column in columns %}
            when {{ column }} is null then 'missing_required:{{ column.split('.')[-1] }}'
    {%- endfor %}
{%- endmacro %}


{#
    The division-code branch of a reject_reason case for a street code checked against the seed
    (joined as `streets`) and the seed of retired codes (joined as `retired`).
#}
{% macro street_code_reasons(column, streets_alias='streets', retired_alias='retired') -%}
            when {{ column }} is not null and {{ streets_alias }}.code is null and {{ retired_alias }}.code is not null
                then 'outdated_division_code:{{ column.split('.')[-1] }}'
            when {{ column }} is not null and {{ streets_alias }}.code is null
                then 'unknown_division_code:{{ column.split('.')[-1] }}'
{%- endmacro %}


{#
    optimisation_fence(): ends a CTE whose computed columns are referenced many times downstream.
    PostgreSQL inlines CTEs and does not share common sub-expressions, so without a fence every
    reference to a cleaned column re-runs its cleaning; `offset 0` makes it compute each row once.
    Other engines share sub-expressions themselves and get nothing.
#}
{% macro optimisation_fence() -%}
    {{ return(adapter.dispatch('optimisation_fence', 'sudata')()) }}
{%- endmacro %}

{% macro default__optimisation_fence() -%}
{%- endmacro %}

{% macro postgres__optimisation_fence() -%}
    offset 0
{%- endmacro %}


{# ['a', 'b'] → ['alias.a', 'alias.b'] #}
{% macro qualified(alias, columns) -%}
    {%- set out = [] -%}
    {%- for column in columns %}{% do out.append(alias ~ '.' ~ column) %}{% endfor -%}
    {{ return(out) }}
{%- endmacro %}
