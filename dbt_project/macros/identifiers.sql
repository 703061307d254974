{#
    National identifiers with check characters, as boolean SQL expressions.

    Each macro returns null for a null input, true or false otherwise, so the same expression serves a
    staging flag (coalesce(..., false)) and a generic test (rows where the value is present and not valid).
    Portable SQL (substr, position via dbt.position, mod, case), with a DuckDB variant where it pays. The
    input is expected in canonical form (upper case, no spaces: see clean_code).
#}

{#
    Unified social credit code, GB 32100-2015: 18 characters from 0123456789ABCDEFGHJKLMNPQRTUWXY
    (no I, O, S, V, Z); characters 3-8 are the registering authority's division code (digits);
    check character = alphabet[(31 - Σ value(c_i)·w_i mod 31) mod 31] with
    w = 1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28.
    The default checks the characters one by one; DuckDB checks the shape with one regular expression
    (in 60 % of the time on 3M codes: the valid_uscc tests read every row of their table each night).
#}
{% macro is_valid_uscc(col) -%}
    {{ return(adapter.dispatch('is_valid_uscc', 'sudata')(col)) }}
{%- endmacro %}

{# The code's 31 characters, in the order of their values (0-30). #}
{% macro uscc_alphabet() -%}
    0123456789ABCDEFGHJKLMNPQRTUWXY
{%- endmacro %}

{% macro uscc_check_character_matches(col) -%}
    {%- set alphabet = "'" ~ sudata.uscc_alphabet() ~ "'" -%}
    {%- set weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] -%}
    substr({{ alphabet }},
           mod(31 - mod(
               {%- for w in weights %}
               {% if not loop.first %}+ {% endif %}({{ dbt.position('substr(' ~ col ~ ', ' ~ loop.index ~ ', 1)', alphabet) }} - 1) * {{ w }}
               {%- endfor %}
           , 31), 31) + 1, 1) = substr({{ col }}, 18, 1)
{%- endmacro %}

{% macro duckdb__is_valid_uscc(col) -%}
    {%- set character = "[" ~ sudata.uscc_alphabet() ~ "]" -%}
    (case
        when {{ col }} is null then null
        when not regexp_full_match({{ col }}, '{{ character }}{2}[0-9]{6}{{ character }}{10}') then false
        else {{ sudata.uscc_check_character_matches(col) }}
    end)
{%- endmacro %}

{% macro default__is_valid_uscc(col) -%}
    {%- set alphabet = "'" ~ sudata.uscc_alphabet() ~ "'" -%}
    (case
        when {{ col }} is null then null
        when length({{ col }}) <> 18 then false
        when not {{ sudata.is_digits('substr(' ~ col ~ ', 3, 6)') }} then false
        when {% for i in range(18) -%}
            {{ dbt.position('substr(' ~ col ~ ', ' ~ (i + 1) ~ ', 1)', alphabet) }} = 0{% if not loop.last %} or {% endif %}
        {%- endfor %} then false
        else {{ sudata.uscc_check_character_matches(col) }}
    end)
{%- endmacro %}


{#
    Resident identity number, GB 11643-1999: 6-digit division code, birth date YYYYMMDD (a real date,
    not in the future, not before 1900), 3-digit sequence, check character by ISO 7064 MOD 11-2:
    r = Σ d_i·w_i mod 11 with w = 7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2 and check = '10X98765432'[r].
#}
{% macro is_valid_id_number(col) -%}
    {%- set weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] -%}
    {%- set y = 'cast(substr(' ~ col ~ ', 7, 4) as integer)' -%}
    {%- set m = 'cast(substr(' ~ col ~ ', 11, 2) as integer)' -%}
    {%- set d = 'cast(substr(' ~ col ~ ', 13, 2) as integer)' -%}
    (case
        when {{ col }} is null then null
        when length({{ col }}) <> 18 then false
        when not {{ sudata.is_digits('substr(' ~ col ~ ', 1, 17)') }} then false
        when {{ dbt.position('substr(' ~ col ~ ', 18, 1)', "'0123456789X'") }} = 0 then false
        when not ({{ y }} >= 1900 and {{ sudata.is_valid_ymd(y, m, d) }}) then false
        when cast(substr({{ col }}, 7, 8) as integer)
             > extract(year from current_date) * 10000 + extract(month from current_date) * 100 + extract(day from current_date)
            then false
        else substr('10X98765432',
                    mod(
                        {%- for w in weights %}
                        {% if not loop.first %}+ {% endif %}cast(substr({{ col }}, {{ loop.index }}, 1) as integer) * {{ w }}
                        {%- endfor %}
                    , 11) + 1, 1) = substr({{ col }}, 18, 1)
    end)
{%- endmacro %}


{#
    The shape of an administrative division code (GB/T 2260 and the statistical street codes):
    'district' = 6 digits, 'street' = 9 digits, 'any' = either. Whether the code exists is a lookup
    against the division seed (see the valid_division_code test and the staging models).
#}
{% macro is_division_code_shape(col, level='any') -%}
    {%- if level == 'district' -%}
    (length({{ col }}) = 6 and {{ sudata.is_digits(col) }})
    {%- elif level == 'street' -%}
    (length({{ col }}) = 9 and {{ sudata.is_digits(col) }})
    {%- else -%}
    (length({{ col }}) in (6, 9) and {{ sudata.is_digits(col) }})
    {%- endif -%}
{%- endmacro %}
