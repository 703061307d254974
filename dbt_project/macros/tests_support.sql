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
