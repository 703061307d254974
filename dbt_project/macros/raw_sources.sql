{#
    The raw layer as relations of the `raw` schema, one per source declared in models/staging/_sources.yml.

    Ingestion lands each source and drop date as one Parquet file, lake/raw/<source_id>/<YYYY-MM-DD>.parquet
    (every registry column as text, plus _source_file, _source_sha256, _drop_date, _loaded_at, _row_number),
    and always keeps a zero-row _empty.parquet with the full schema, so the glob of a source always matches.
    This macro runs as on-run-start and (re)creates one relation per source over that glob.
#}

{% macro lake_root() -%}
    {{ return(var('lake_root', env_var('SUDATA_HOME', '../.sudata') ~ '/lake')) }}
{%- endmacro %}


{# Source ids of the `raw` source, from the project graph (the YAML is the only list). #}
{% macro raw_source_tables() -%}
    {%- set tables = [] -%}
    {%- for node in graph.sources.values() -%}
        {%- if node.source_name == 'raw' -%}
            {%- do tables.append(node.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(tables | sort) }}
{%- endmacro %}


{% macro register_raw_sources() -%}
    {%- if execute -%}
        {%- for statement in adapter.dispatch('raw_source_statements', 'sudata')(sudata.lake_root() | replace('\\', '/'), sudata.raw_source_tables()) -%}
            {%- do run_query(statement) -%}
        {%- endfor -%}
        {{ log("registered " ~ (sudata.raw_source_tables() | length) ~ " raw sources from " ~ sudata.lake_root(), info=false) }}
    {%- endif -%}
    {#- every statement ran above: the hook itself has nothing left to execute -#}
    select 1 as raw_sources_registered
{%- endmacro %}


{# DuckDB (and the default): views over the Parquet files, schemas unioned by column name. #}
{% macro default__raw_source_statements(lake, tables) -%}
    {%- set statements = ['create schema if not exists raw'] -%}
    {%- for table in tables -%}
        {%- do statements.append(
            "create or replace view raw." ~ table ~ " as select * from read_parquet("
            ~ sudata.sql_literal(lake ~ '/raw/' ~ table ~ '/*.parquet') ~ ", union_by_name = true)"
        ) -%}
    {%- endfor -%}
    {{ return(statements) }}
{%- endmacro %}


{#
    Spark (dbt-spark, session method): external tables over each source folder. A drop adds a file to the
    folder; the table is dropped and re-created (its files are untouched: the table is external) so a
    widened schema is merged in, and refreshed so the listing of files is current. Spark skips files whose
    names start with '_' (the Hadoop convention), so on Spark a source needs one landed drop before its
    table can infer a schema; the zero-row _empty.parquet serves DuckDB only.
#}
{% macro spark__raw_source_statements(lake, tables) -%}
    {%- set statements = ['create database if not exists raw'] -%}
    {%- for table in tables -%}
        {%- do statements.append("drop table if exists raw." ~ table) -%}
        {%- do statements.append(
            "create table raw." ~ table ~ " using parquet options ('mergeSchema' 'true') location "
            ~ sudata.sql_literal(lake ~ '/raw/' ~ table)
        ) -%}
        {%- do statements.append("refresh table raw." ~ table) -%}
    {%- endfor -%}
    {{ return(statements) }}
{%- endmacro %}


{#
    PostgreSQL cannot read Parquet: there the raw tables are loaded by ingestion (same names and columns,
    in the `raw` schema). Only the schema is ensured here.
#}
{% macro postgres__raw_source_statements(lake, tables) -%}
    {{ return(['create schema if not exists raw']) }}
{%- endmacro %}
