{#
    Every present value is a unified social credit code with a correct check character (GB 32100):
    see macros/identifiers.sql. Returns the offending values (whole rows when failures are stored, so that
    the gate can name their keys).
#}
{% test valid_uscc(model, column_name) %}

select {{ sudata.failing_rows(column_name ~ ' as invalid_uscc') }}
from {{ model }}
where {{ column_name }} is not null
    and not {{ sudata.is_valid_uscc(column_name) }}

{% endtest %}
