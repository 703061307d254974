{#- air_quality_hourly: the source's own rules on top of the standard staging (macros/staging.sql) -#}

{#- the calendar day of the hourly reading: the unit of the daily means -#}
{%- set observation_date -%}
    cast({{ sudata.typed_value('air_quality_hourly', 'observed_at') }} as date)
{%- endset -%}

{{ sudata.standard_staging('air_quality_hourly', rules={'observation_date': observation_date}) }}
