{#- service_hall_transactions: the source's own rules on top of the standard staging (macros/staging.sql) -#}

{%- set received = sudata.typed_value('service_hall_transactions', 'received') -%}
{%- set completed = sudata.typed_value('service_hall_transactions', 'completed') -%}
{%- set completion_rate -%}
    case
        when {{ received }} > 0 then cast(round(1.0 * {{ completed }} / {{ received }}, 4) as decimal(10, 4))
    end
{%- endset -%}

{{ sudata.standard_staging('service_hall_transactions', rules={'completion_rate': completion_rate}) }}
