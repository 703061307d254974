{#
    Every present value is a resident identity number with a valid birth date and check character
    (GB 11643). The failing values are not returned, only how many there are; stored failures keep the
    whole rows, as the tested model holds them, so that the gate can name their keys.
#}
{% test valid_id_number(model, column_name) %}

select {{ sudata.failing_rows('1 as invalid_id_number') }}
from {{ model }}
where {{ column_name }} is not null
    and not {{ sudata.is_valid_id_number(column_name) }}

{% endtest %}
