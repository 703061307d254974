{#
    Numbers as departments write them: full-width digits, thousands separators (1,234 / 1，234),
    spaces, a trailing unit (元, 万元, 万, 人, 张, 个, 件, 分钟, %) or a leading ¥/￥/约. The unit is
    dropped, not applied: each column's unit is fixed by the registry (注册资本(万元) delivered as 500万
    is 500).

    Two steps, so the SQL stays small: clean_number(col) in a staging model's `cleaned` CTE gives the
    bare number text; parse_decimal / parse_integer on that text give the typed value, or null when it
    is still not a number — never a cast error (portable: validated before casting, no try_cast).
#}

{% macro clean_number(col) -%}
    {{ sudata.number_from_clean_text(sudata.clean_text(col)) }}
{%- endmacro %}

{# clean_number's last step, on text that is already clean_text. #}
{% macro number_from_clean_text(t) -%}
    {%- set units = ['万元', '元', '万', '人次', '人', '张', '个', '件', '分钟', '辆', '户', '%', '¥', '￥', '约', '+'] -%}
    {%- set text = namespace(sql="replace(replace(" ~ t ~ ", ',', ''), ' ', '')") -%}
    {%- for unit in units -%}
        {%- set text.sql = "replace(" ~ text.sql ~ ", " ~ sudata.sql_literal(unit) ~ ", '')" -%}
    {%- endfor -%}
    nullif({{ text.sql }}, '')
{%- endmacro %}


{#
    True when text s (from clean_number) is an optionally signed decimal (12, -3, 4.50, .5) with at most
    max_integer_digits digits before the point, so the cast that follows can neither fail nor overflow.
#}
{% macro is_decimal_text(s, max_integer_digits=20) -%}
    {%- set body -%}(case when substr({{ s }}, 1, 1) = '-' then substr({{ s }}, 2) else {{ s }} end){%- endset -%}
    (length({{ body }}) > 0
     and {{ body }} <> '.'
     and translate({{ body }}, '0123456789.', '') = ''
     and length({{ body }}) - length(replace({{ body }}, '.', '')) <= 1
     and length({{ dbt.split_part(body, "'.'", 1) }}) <= {{ max_integer_digits }})
{%- endmacro %}


{% macro parse_decimal(col, precision=18, scale=4) -%}
    (case when {{ sudata.is_decimal_text(col, precision - scale) }} then cast({{ col }} as decimal({{ precision }}, {{ scale }})) end)
{%- endmacro %}


{# A count: an integral value (12 or 12.0); fractional or negative values give null. #}
{% macro parse_integer(col) -%}
    {{ sudata.integer_from_decimal(sudata.integer_as_decimal(col)) }}
{%- endmacro %}

{# parse_integer's first step: the number in text col as a decimal wide enough for any count, or null. #}
{% macro integer_as_decimal(col) -%}
    (case when {{ sudata.is_decimal_text(col, 15) }} then cast({{ col }} as decimal(24, 6)) end)
{%- endmacro %}

{# parse_integer's last step, on integer_as_decimal (referenced four times: in a model, pass a column). #}
{% macro integer_from_decimal(n) -%}
    (case
        when {{ n }} >= 0 and {{ n }} = floor({{ n }}) then cast({{ n }} as {{ dbt.type_bigint() }})
    end)
{%- endmacro %}


{#
    WGS-84/GCJ-02 coordinates within Suzhou's extent (var suzhou_extent). A pair delivered the wrong way
    round (latitude in the longitude column) is put right; a pair outside the extent gives nulls.
    coordinate(lon, lat, 'longitude') / coordinate(lon, lat, 'latitude') on parsed decimals.
#}
{% macro coordinate(lon, lat, which) -%}
    {%- set e = var('suzhou_extent') -%}
    {%- set lon_ok = "between " ~ e.min_longitude ~ " and " ~ e.max_longitude -%}
    {%- set lat_ok = "between " ~ e.min_latitude ~ " and " ~ e.max_latitude -%}
    (case
        when {{ lon }} {{ lon_ok }} and {{ lat }} {{ lat_ok }} then {{ lon if which == 'longitude' else lat }}
        when {{ lat }} {{ lon_ok }} and {{ lon }} {{ lat_ok }} then {{ lat if which == 'longitude' else lon }}
    end)
{%- endmacro %}


{#
    The mean of col rounded half up to `scale` decimals, the same on every engine: avg() returns a
    double on some engines and an exact numeric on others, so 0.725 would round to 0.72 on one and
    0.73 on the other. Computed from the exact sum and count instead. An aggregate expression.
#}
{% macro avg_rounded(col, scale=1, precision=12) -%}
    {%- set factor = 10 ** scale -%}
    (case when count({{ col }}) > 0 then
        cast(floor((sum({{ col }}) * {{ factor * 2 }} + count({{ col }})) / (2 * count({{ col }}))) / {{ factor }} as decimal({{ precision }}, {{ scale }}))
    end)
{%- endmacro %}
