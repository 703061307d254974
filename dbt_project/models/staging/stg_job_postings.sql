{#- job_postings: the source's own rules on top of the standard staging (macros/staging.sql) -#}

{#- a salary range delivered upside down is put right -#}
{%- set low = sudata.typed_value('job_postings', 'salary_min_cny') -%}
{%- set high = sudata.typed_value('job_postings', 'salary_max_cny') -%}
{%- set salary_min_cny -%} case when {{ high }} < {{ low }} then {{ high }} else {{ low }} end {%- endset -%}
{%- set salary_max_cny -%} case when {{ high }} < {{ low }} then {{ low }} else {{ high }} end {%- endset -%}

{{ sudata.standard_staging('job_postings', rules={'salary_min_cny': salary_min_cny, 'salary_max_cny': salary_max_cny}) }}
