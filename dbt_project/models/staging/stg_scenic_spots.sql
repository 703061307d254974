{#- scenic_spots: the source's own rules on top of the standard staging (macros/staging.sql) -#}

{#- 免费 → 0; a seasonal price (旺季60/淡季50) → the peak-season price -#}
{%- set ticket_price_cny -%}
    case
        when cleaned.ticket_price = '免费' then 0
        when {{ dbt.position("'旺季'", 'cleaned.ticket_price') }} > 0
            then {{ sudata.parse_decimal(dbt.split_part("replace(cleaned.ticket_price, '旺季', '')", "'/'", 1), 10, 2) }}
        else {{ sudata.parse_decimal('cleaned.ticket_price', 10, 2) }}
    end
{%- endset -%}

{{ sudata.standard_staging('scenic_spots', rules={'ticket_price_cny': ticket_price_cny}) }}
