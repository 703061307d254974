{#
    The standard staging of a declared source (registry/*.yml, read through sudata.declarations()):

        source        the raw partitions landed since the last run (new_drops_only)
        halfwidth     every delivered column with its full-width characters made ASCII (halfwidth_as)
        cleaned_text  every column cleaned as text by its declared type (clean_as); a date or timestamp
                      column also as the text its date and time of day are read from, a phone as
                      its digits (phone_digits)
        cleaned       cleaned_text, the date of every date or timestamp column and the number of every
                      integer column (integer_as_decimal), each read once
        typed         every column typed and validated by its declared type (typed_as), the street or
                      division code checked against the seeds, and reject_reason: the first missing
                      required value, invalid identifier, unreadable required date or unknown division
                      code, in declared order

    unusable_values lists (',aqi,pm25_ug_m3,') the columns whose delivered value could not be used — text in a
    number or date column, a number outside its bounds, a phone that is no phone — so that what staging
    sets to null is counted and reported (int_unusable_values), never lost silently.

    Each step is a column of its own CTE that the next step refers to, never an expression repeated
    inside the next one, so that every statement stays small on every engine (Spark's parser cannot
    take a cleaning expression expanded dozens of times).

    A source's own rules are SQL expressions over `cleaned`, passed by its hand-written stg_<id>.sql:

        {% set route_count %} ... {% endset %}
        {{ sudata.standard_staging('bus_stops', rules={'route_count': route_count}) }}

    A rule named like a declared column replaces the standard typed value; the others are the source's
    computed columns (declared under `rules:` in the registry). typed_value('<source>', '<column>') gives
    a rule the standard typed value of another column.
#}
{% macro standard_staging(source_id, rules={}) -%}
{%- set s = sudata.declarations()['sources'][source_id] -%}
{%- set declared = s['columns'] | map(attribute='staged') | list + s['rules'] | map(attribute='staged') | list -%}
{%- for name in rules if name not in declared -%}
    {{ exceptions.raise_compiler_error("stg_" ~ source_id ~ ": rule '" ~ name ~ "' is neither a column nor a rule declared for the source in the registry") }}
{%- endfor -%}
{%- for r in s['rules'] if r['staged'] not in rules -%}
    {{ exceptions.raise_compiler_error("stg_" ~ source_id ~ ": the registry declares rule '" ~ r['staged'] ~ "' but the model passes no SQL for it") }}
{%- endfor -%}
with

source as (

    select * from {{ source('raw', source_id) }}
    {{ sudata.new_drops_only() }}

),
{%- if s.get('street') or s.get('division') %}

streets as (

    select * from {{ ref('suzhou_streets') }}

),

retired as (

    select * from {{ ref('suzhou_division_changes') }}

),
{%- endif %}
{%- if s.get('division') %}

districts as (

    select distinct district_code from streets

),
{%- endif %}

halfwidth as (

    select
        {%- for c in s['columns'] %}
        {{ sudata.halfwidth_as(c) }} as {{ c['name'] }},
        {%- endfor %}

        _source_file,
        _drop_date,
        _loaded_at,
        _row_number

    from source
    {{ sudata.optimisation_fence() }}

),

cleaned_text as (

    select
        {%- for c in s['columns'] %}
        {%- set text = sudata.clean_as(c) %}
        {{ text }} as {{ c['name'] }},
        {%- if c['type'] in ('date', 'datetime') %}
        {{ sudata.date_text(text) }} as {{ c['name'] }}__date_text,
        {%- endif %}
        {%- if c['type'] == 'datetime' %}
        {{ sudata.time_text(text) }} as {{ c['name'] }}__time_text,
        {%- endif %}
        {%- if c['type'] == 'phone' %}
        {{ sudata.phone_digits(text) }} as {{ c['name'] }}__phone_digits,
        {%- endif %}
        {%- endfor %}

        _source_file,
        _drop_date,
        _loaded_at,
        _row_number

    from halfwidth
    {{ sudata.optimisation_fence() }}

),

cleaned as (

    select
        {%- for c in s['columns'] %}
        {%- if c['type'] in ('date', 'datetime') %}
        {{ sudata.date_from_date_text('cleaned_text.' ~ c['name'] ~ '__date_text') }} as {{ c['name'] }}__date,
        {%- elif c['type'] == 'integer' %}
        {{ sudata.integer_as_decimal('cleaned_text.' ~ c['name']) }} as {{ c['name'] }}__decimal,
        {%- endif %}
        {%- endfor %}
        cleaned_text.*

    from cleaned_text
    {{ sudata.optimisation_fence() }}

),

typed as (

    select
        {%- for c in s['columns'] %}
        {%- if c['staged'] in rules %}
        {# the source's own rule #}
        ({{ rules[c['staged']] }}) as {{ c['staged'] }},
        {%- elif c['type'] == 'street_code' %}
        {{ sudata.street_code_columns('cleaned.' ~ c['name']) }},
        {%- elif c['type'] == 'division_code' %}
        {{ sudata.division_code_columns('cleaned.' ~ c['name']) }},
        {%- else %}
        {{ sudata.typed_as(c, s) }} as {{ c['staged'] }},
        {%- endif %}
        {%- endfor %}
        {%- for r in s['rules'] %}
        {# the source's own rule #}
        ({{ rules[r['staged']] }}) as {{ r['staged'] }},
        {%- endfor %}

        {{ sudata.unusable_values(s, rules) }} as unusable_values,
        {{ sudata.reject_reason(s) }} as reject_reason,

        cleaned._source_file,
        cleaned._drop_date,
        cleaned._loaded_at,
        cleaned._row_number

    from cleaned
    {%- if s.get('street') %}
    {{ sudata.street_code_joins('cleaned.' ~ sudata.raw_name(s, s['street'])) }}
    {%- endif %}
    {%- if s.get('division') %}
    {{ sudata.division_code_joins('cleaned.' ~ sudata.raw_name(s, s['division'])) }}
    {%- endif %}

)

select * from typed
{%- endmacro %}


{# The raw (landed) name of a staged column. #}
{% macro raw_name(s, staged) -%}
    {%- for c in s['columns'] if c['staged'] == staged -%}{{ return(c['name']) }}{%- endfor -%}
    {{ exceptions.raise_compiler_error(s['id'] ~ ": no declared column " ~ staged) }}
{%- endmacro %}


{# A delivered value (column c['name'] of `source`) with full-width characters made ASCII, by its declared type. #}
{% macro halfwidth_as(c) -%}
    {%- if c['type'] in ('text', 'address') -%}
        {{ sudata.to_halfwidth_keeping_punctuation(c['name']) }}
    {%- else -%}
        {{ sudata.to_halfwidth(c['name']) }}
    {%- endif -%}
{%- endmacro %}


{#
    A delivered value cleaned as text, by its declared type, from its column of `halfwidth` (halfwidth_as):
    the same text as clean_code, clean_name, clean_number, clean_free_text or clean_text of the delivered value.
#}
{% macro clean_as(c) -%}
    {%- set t = c['type'] -%}
    {%- set text = sudata.trimmed_text('halfwidth.' ~ c['name']) -%}
    {%- if t == 'code' -%}
        {{ sudata.code_from_clean_text(text, keep_hyphens=not c.get('compact', false)) }}
    {%- elif t in ('uscc', 'id_number', 'street_code', 'division_code') -%}
        {{ sudata.code_from_clean_text(text) }}
    {%- elif t == 'name' -%}
        {{ sudata.name_from_clean_text(text) }}
    {%- elif t in ('integer', 'decimal', 'longitude', 'latitude') -%}
        {{ sudata.number_from_clean_text(text) }}
    {%- else -%}
        {{ text }}
    {%- endif -%}
{%- endmacro %}


{# The typed value of a cleaned column (alias `cleaned`), by its declared type and bounds. #}
{% macro typed_as(c, s) -%}
    {%- set t = c['type'] -%}
    {%- set col = 'cleaned.' ~ c['name'] -%}
    {%- if t == 'date' -%}
        {{ col }}__date
    {%- elif t == 'datetime' -%}
        {{ sudata.timestamp_from_parts(col ~ '__date', col ~ '__time_text') }}
    {%- elif t == 'phone' -%}
        {{ sudata.phone_from_digits(col ~ '__phone_digits') }}
    {%- elif t == 'integer' -%}
        {{ sudata.bounded(sudata.integer_from_decimal(col ~ '__decimal'), c) }}
    {%- elif t == 'decimal' -%}
        {{ sudata.bounded(sudata.parse_decimal(col, c.get('precision', 18), c.get('scale', 4)), c) }}
    {%- elif t in ('longitude', 'latitude') -%}
        {%- set lon = sudata.parse_decimal('cleaned.' ~ s['longitude'], c.get('precision', 10), c.get('scale', 6)) -%}
        {%- set lat = sudata.parse_decimal('cleaned.' ~ s['latitude'], c.get('precision', 10), c.get('scale', 6)) -%}
        {{ sudata.coordinate(lon, lat, t) }}
    {%- elif t == 'enum' -%}
        {%- set spelled = 'upper(replace(' ~ col ~ ", ' ', ''))" -%}
        (case
            {%- for canonical, spellings in c['values'].items() %}
            when {{ spelled }} in ({% for v in spellings %}{{ sudata.sql_literal(v | upper) }}{% if not loop.last %}, {% endif %}{% endfor %}) then {{ sudata.sql_literal(canonical) }}
            {%- endfor %}
        end)
    {%- else -%}
        {{ col }}
    {%- endif -%}
{%- endmacro %}


{# A number outside its declared bounds is not a measurement (an instrument fault, a typing error): null. #}
{% macro bounded(expr, c) -%}
    {%- if c.get('min') is not none and c.get('max') is not none -%}
        (case when {{ expr }} between {{ c['min'] }} and {{ c['max'] }} then {{ expr }} end)
    {%- elif c.get('min') is not none -%}
        (case when {{ expr }} >= {{ c['min'] }} then {{ expr }} end)
    {%- elif c.get('max') is not none -%}
        (case when {{ expr }} <= {{ c['max'] }} then {{ expr }} end)
    {%- else -%}
        {{ expr }}
    {%- endif -%}
{%- endmacro %}


{# For a source's rules: the standard typed value of one of its declared columns. #}
{% macro typed_value(source_id, staged) -%}
    {%- set s = sudata.declarations()['sources'][source_id] -%}
    {%- for c in s['columns'] if c['staged'] == staged -%}{{ return(sudata.typed_as(c, s)) }}{%- endfor -%}
    {{ exceptions.raise_compiler_error(source_id ~ ": no declared column " ~ staged) }}
{%- endmacro %}


{#
    Why a delivered row cannot be used (null when it can): the first missing required value, then per
    column in declared order an invalid USCC or ID number, an unreadable required date or timestamp,
    a division code that is unknown or retired without successor. A street code is judged later, in the
    intermediate layer, where the address can stand in for it.
#}
{% macro reject_reason(s) -%}
    (case
        {%- for c in s['columns'] if c.get('required') %}
        when cleaned.{{ c['name'] }} is null then 'missing_required:{{ c['name'] }}'
        {%- endfor %}
        {%- for c in s['columns'] %}
        {%- set col = 'cleaned.' ~ c['name'] %}
        {%- if c['type'] == 'uscc' %}
        when not {{ sudata.is_valid_uscc(col) }} then 'invalid_uscc'
        {%- elif c['type'] == 'id_number' %}
        when not {{ sudata.is_valid_id_number(col) }} then 'invalid_id_number:{{ c['name'] }}'
        {%- elif c['type'] == 'date' and c.get('required') %}
        when {{ sudata.typed_as(c, s) }} is null then 'invalid_date:{{ c['name'] }}'
        {%- elif c['type'] == 'datetime' and c.get('required') %}
        when {{ sudata.typed_as(c, s) }} is null then 'invalid_timestamp:{{ c['name'] }}'
        {%- endif %}
        {%- if c['type'] in ('date', 'datetime') and c.get('not_future') %}
        when {{ sudata.after_drop_day(sudata.typed_as(c, s)) }} then 'future_date:{{ c['name'] }}'
        {%- endif %}
        {%- if c['type'] == 'division_code' %}
        {%- set placeable = col ~ " is null or " ~ col ~ " = '" ~ var('city_division_code') ~ "' or districts.district_code is not null or successors.district_code is not null" %}
        when not ({{ placeable }}) and retired.code is not null then 'outdated_division_code:{{ c['name'] }}'
        when not ({{ placeable }}) then 'unknown_division_code:{{ c['name'] }}'
        {%- endif %}
        {%- endfor %}
    end)
{%- endmacro %}


{#
    The columns of a staged row whose delivered value was set to null: ',col,col,' or null. Only for the
    types whose typed value can be null while the delivered text is not.
#}
{% macro unusable_values(s, rules) -%}
    {%- set parts = ["','"] -%}
    {%- for c in s['columns'] if c['type'] in ('integer', 'decimal', 'date', 'datetime', 'phone', 'longitude', 'latitude', 'enum') -%}
        {%- set typed = rules[c['staged']] if c['staged'] in rules else sudata.typed_as(c, s) -%}
        {%- set meant_none = [] -%}
        {%- for v in c.get('none_values', []) %}{% do meant_none.append(sudata.sql_literal(v)) %}{% endfor -%}
        {%- set delivered = "cleaned." ~ c['name'] ~ " is not null" ~ ((" and cleaned." ~ c['name'] ~ " not in (" ~ meant_none | join(", ") ~ ")") if meant_none else "") -%}
        {%- do parts.append("case when " ~ delivered ~ " and (" ~ typed ~ ") is null then '" ~ c['staged'] ~ ",' else '' end") -%}
    {%- endfor -%}
    {%- if parts | length == 1 -%}
    cast(null as {{ dbt.type_string() }})
    {%- else -%}
    nullif({{ dbt.concat(parts) }}, ',')
    {%- endif -%}
{%- endmacro %}


{#
    not_future columns: a date later than the end of its drop's day cannot be a fact yet (a typing error,
    a clock set wrong). The row is quarantined with future_date:<column>, the dataset publishes without it.
#}
{% macro after_drop_day(expr) -%}
    {{ expr }} >= {{ dbt.dateadd('day', 1, 'cast(cleaned._drop_date as ' ~ dbt.type_timestamp() ~ ')') }}
{%- endmacro %}
