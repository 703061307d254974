{# Helpers of the project's generic tests (tests/generic). #}
{# The manifest node of the model a generic test is attached to. #}
{% macro _tested_model_node(model) %}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model'
              and (node.alias or node.name) | lower == model.identifier | lower
              and node.schema | lower == model.schema | lower -%}
            {{ return(node) }}
        {%- endif -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("no model node found for " ~ model) }}
{% endmacro %}


{#
    The select list of a row-level test: `columns` when only the failures are counted, the whole row when
    they are stored (dbt's store_failures, as dbt's own not_null does), so that the gate can name the
    failing rows by their keys.
#}
{% macro failing_rows(columns, relation=none) -%}
    {%- if should_store_failures() -%}
        {{ relation ~ '.*' if relation else '*' }}
    {%- else -%}
        {{ columns }}
    {%- endif -%}
{%- endmacro %}
