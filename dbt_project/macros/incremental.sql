{#
    Staging is incremental by drop: each run stages only the raw partitions landed since the last run
    (every row of a partition carries the same _loaded_at), and replaces those drop dates wholesale, so a
    corrected redelivery of an older date supersedes what was staged for it. The strategy that replaces
    whole drop dates differs by engine: delete+insert keyed on _drop_date on DuckDB and PostgreSQL,
    insert_overwrite of the _drop_date partitions on Spark (configured in dbt_project.yml). A change to a model's SQL or to a seed it
    joins needs `sudata run --full-refresh` (dbt's --full-refresh) to restage the history.
#}
{% macro new_drops_only(loaded_at='_loaded_at') -%}
    {%- if is_incremental() -%}
        where {{ loaded_at }} > (
            select coalesce(max({{ loaded_at }}), cast('1970-01-01 00:00:00' as {{ dbt.type_timestamp() }}))
            from {{ this }}
        )
    {%- endif -%}
{%- endmacro %}

