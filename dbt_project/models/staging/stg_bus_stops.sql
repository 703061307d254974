{#- bus_stops: the source's own rules on top of the standard staging (macros/staging.sql) -#}

{#- one separator: 、 (some exports use commas) -#}
{%- set routes = "replace(cleaned.routes, ',', '、')" -%}

{%- set route_count -%}
    case
        when {{ routes }} is null then 0
        else length({{ routes }}) - length(replace({{ routes }}, '、', '')) + 1
    end
{%- endset -%}

{{ sudata.standard_staging('bus_stops', rules={'routes': routes, 'route_count': route_count}) }}
