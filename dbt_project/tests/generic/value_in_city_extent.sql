{# A longitude or latitude (axis) inside the city's extent (var suzhou_extent). #}
{% test value_in_city_extent(model, column_name, axis) %}

{%- set e = var('suzhou_extent') -%}
{%- if axis not in ('longitude', 'latitude') -%}
    {{ exceptions.raise_compiler_error("value_in_city_extent: axis must be longitude or latitude, not " ~ axis) }}
{%- endif %}
select {{ sudata.failing_rows(column_name) }}
from {{ model }}
where {{ column_name }} is not null
    and {{ column_name }} not between {{ e['min_' ~ axis] }} and {{ e['max_' ~ axis] }}

{% endtest %}
