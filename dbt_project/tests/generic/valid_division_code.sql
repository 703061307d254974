{#
    Every present value is a division code of the seed (var division_seed, the NBS 2023 codes):
      level='street'   a 9-digit street/town code (seed column code)
      level='district' a 6-digit county-level code (seed column district_code)
      level='any'      either
    allow_city=true also accepts the prefecture code (var city_division_code, 320500) for values that
    legitimately cover the whole city (a city-level monitoring station, a city-level authority).
#}
{% test valid_division_code(model, column_name, level='street', allow_city=false) %}

{%- if level not in ('street', 'district', 'any') -%}
    {{ exceptions.raise_compiler_error("valid_division_code: level must be street, district or any, not " ~ level) }}
{%- endif %}

with

known_codes as (

    {% if level in ('street', 'any') -%}
    select code from {{ ref(var('division_seed')) }}
    {%- endif %}
    {% if level == 'any' %}union{% endif %}
    {% if level in ('district', 'any') -%}
    select distinct district_code as code from {{ ref(var('division_seed')) }}
    {%- endif %}
    {% if allow_city -%}
    union
    select cast('{{ var("city_division_code") }}' as {{ dbt.type_string() }}) as code
    {%- endif %}

)

select {{ sudata.failing_rows('tested.' ~ column_name ~ ' as unknown_division_code', relation='tested') }}
from {{ model }} as tested
left join known_codes
    on cast(tested.{{ column_name }} as {{ dbt.type_string() }}) = known_codes.code
where tested.{{ column_name }} is not null
    and known_codes.code is null

{% endtest %}
