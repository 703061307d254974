{#
    Dates as departments write them.

    parse_date_multi(col) accepts 2026-11-23, 2026/11/23, 2026.11.23, 2026年11月23日, 20261123,
    one-digit months and days (2026/1/5), a trailing time (2026-11-23 08:00:00, 2026-11-23T08:00) and
    Excel serial day numbers (46349). Anything else, and impossible dates (2026-02-30), give null —
    never an error — so that staging can flag the row. col is text already passed through clean_text
    (half-width, trimmed); staging models do that in their `cleaned` CTE.

    The default implementation (date_from_text over date_text) is portable SQL: it validates the parts
    with string functions before casting, so it behaves the same on engines without try_cast and under
    ANSI casting (Spark 4). PostgreSQL runs the same logic in a fenced scalar subquery so that the
    normalised text is computed once per row; DuckDB gets a native equivalent (try_strptime).
#}

{# The delivered value with every date separator turned into '-', and any time of day cut off. #}
{% macro date_text(col) -%}
    {%- set t -%}
        replace(replace(replace(replace(replace(replace(trim({{ col }}), '年', '-'), '月', '-'), '日', ' '), '/', '-'), '.', '-'), 'T', ' ')
    {%- endset -%}
    nullif({{ dbt.split_part('trim(' ~ t ~ ')', "' '", 1) }}, '')
{%- endmacro %}


{% macro parse_date_multi(col) -%}
    {{ return(adapter.dispatch('parse_date_multi', 'sudata')(col)) }}
{%- endmacro %}

{% macro default__parse_date_multi(col) -%}
    {{ sudata.date_from_text(sudata.date_text(col)) }}
{%- endmacro %}

{#
    PostgreSQL shares no common sub-expressions: the normalised text is computed once per row in a
    fenced scalar subquery instead of once per reference in date_from_text.
#}
{% macro postgres__parse_date_multi(col) -%}
    (select {{ sudata.date_from_text('normalised.s') }} from (select {{ sudata.date_text(col) }} as s offset 0) as normalised)
{%- endmacro %}

{% macro duckdb__parse_date_multi(col) -%}
    {{ sudata.duckdb__date_from_date_text(sudata.date_text(col)) }}
{%- endmacro %}


{#
    parse_date_multi's last step: the date in text s already normalised by date_text, or null. s is
    referenced many times, so a model passes a column holding date_text (the standard staging does).
#}
{% macro date_from_date_text(s) -%}
    {{ return(adapter.dispatch('date_from_date_text', 'sudata')(s)) }}
{%- endmacro %}

{% macro default__date_from_date_text(s) -%}
    {{ sudata.date_from_text(s) }}
{%- endmacro %}

{% macro duckdb__date_from_date_text(s) -%}
    (case
        when length({{ s }}) = 5 and try_cast({{ s }} as integer) between 20000 and 80000
            then cast(date '1899-12-30' + try_cast({{ s }} as integer) as date)
        when length({{ s }}) in (8, 10) or {{ s }} like '%-%-%'
            then cast(try_strptime({{ s }}, ['%Y-%m-%d', '%Y%m%d']) as date)
    end)
{%- endmacro %}


{#
    The date in text s already normalised by date_text (Y-M-D with one- or two-digit month and day,
    YYYYMMDD, or an Excel serial day number), or null. Portable: every part is validated before casting.
#}
{% macro date_from_text(s) -%}
    {%- set compact = "length(" ~ s ~ ") = 8 and " ~ sudata.is_digits(s) -%}
    {%- set y -%}(case when {{ compact }} then substr({{ s }}, 1, 4) else {{ dbt.split_part(s, "'-'", 1) }} end){%- endset -%}
    {%- set m -%}(case when {{ compact }} then substr({{ s }}, 5, 2) else {{ dbt.split_part(s, "'-'", 2) }} end){%- endset -%}
    {%- set d -%}(case when {{ compact }} then substr({{ s }}, 7, 2) else {{ dbt.split_part(s, "'-'", 3) }} end){%- endset -%}
    (case
        when {{ s }} is null then null
        when length({{ s }}) = 5 and {{ sudata.int_or_null(s) }} between 20000 and 80000
            then cast({{ dbt.dateadd('day', 'cast(' ~ s ~ ' as integer)', "cast('1899-12-30' as date)") }} as date)
        when not ({{ compact }})
             and (length({{ s }}) - length(replace({{ s }}, '-', ''))) <> 2
            then null
        when length({{ y }}) = 4
             and length({{ m }}) between 1 and 2
             and length({{ d }}) between 1 and 2
             and {{ sudata.is_valid_ymd(sudata.int_or_null(y), sudata.int_or_null(m), sudata.int_or_null(d)) }}
            then cast({{ dbt.concat([y, "'-'", "lpad(" ~ m ~ ", 2, '0')", "'-'", "lpad(" ~ d ~ ", 2, '0')"]) }} as date)
    end)
{%- endmacro %}


{# expr cast to integer when it is a string of at most 9 digits, else null (never a cast error). #}
{% macro int_or_null(expr) -%}
    (case when length({{ expr }}) <= 9 and {{ sudata.is_digits(expr) }} then cast({{ expr }} as integer) end)
{%- endmacro %}


{# True when the integer expressions y, m, d form a calendar date (Gregorian leap years, 1800-2999). #}
{% macro is_valid_ymd(y, m, d) -%}
    ({{ y }} between 1800 and 2999
     and {{ d }} between 1 and
        case
            when {{ m }} in (1, 3, 5, 7, 8, 10, 12) then 31
            when {{ m }} in (4, 6, 9, 11) then 30
            when {{ m }} = 2 then
                case when mod({{ y }}, 4) = 0 and (mod({{ y }}, 100) <> 0 or mod({{ y }}, 400) = 0) then 29 else 28 end
            else 0
        end)
{%- endmacro %}


{#
    A timestamp: the date as parse_date_multi reads it plus an optional time of day
    (08:00, 08:00:00, 8时, 08时30分; hour 24 = midnight of the next day). No time → midnight;
    an unreadable time → null. col is cleaned text, as for parse_date_multi.
#}
{% macro time_text(col) -%}
    {%- set t -%}
        trim(replace(replace(replace(replace(replace(trim({{ col }}), 'T', ' '), '日', ' '), '时', ':'), '分', ':'), '秒', ''))
    {%- endset -%}
    (case when {{ dbt.position("' '", t) }} > 0 then trim(substr({{ t }}, {{ dbt.position("' '", t) }} + 1)) end)
{%- endmacro %}

{% macro parse_timestamp_multi(col) -%}
    {{ return(adapter.dispatch('parse_timestamp_multi', 'sudata')(col)) }}
{%- endmacro %}

{% macro default__parse_timestamp_multi(col) -%}
    {{ sudata.timestamp_from_parts(sudata.parse_date_multi(col), sudata.time_text(col)) }}
{%- endmacro %}

{#
    parse_timestamp_multi's last step: the timestamp of date `day` (parse_date_multi) at the time of day
    in `rest` (time_text). Both are referenced several times: a model passes columns.
#}
{% macro timestamp_from_parts(day, rest) -%}
    {%- set hh = sudata.int_or_null(dbt.split_part(rest, "':'", 1)) -%}
    {%- set mi = sudata.int_or_null("coalesce(nullif(" ~ dbt.split_part(rest, "':'", 2) ~ ", ''), '0')") -%}
    (case
        when {{ rest }} is null or {{ rest }} = '' then cast({{ day }} as {{ dbt.type_timestamp() }})
        when {{ hh }} between 0 and 24 and {{ mi }} between 0 and 59
            then {{ dbt.dateadd('minute', hh ~ ' * 60 + ' ~ mi, 'cast(' ~ day ~ ' as ' ~ dbt.type_timestamp() ~ ')') }}
    end)
{%- endmacro %}
