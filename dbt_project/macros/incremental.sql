{#
    Staging is incremental by drop: each run stages only the raw partitions landed since the last run
    (every row of a partition carries the same _loaded_at), and replaces those drop dates wholesale, so a
    corrected redelivery of an older date supersedes what was staged for it. The strategy that replaces
    whole drop dates differs by engine: delete+insert keyed on _drop_date on DuckDB and PostgreSQL,
    insert_overwrite of the _drop_date partitions on Spark (configured in dbt_project.yml). A change to a model's SQL or to a seed it
    joins needs `sudata run --full-refresh` (dbt's --full-refresh) to restage the history.
#}
{% macro new_drops_only(loaded_at='_loaded_at', watermark=none) -%}
    {%- if is_incremental() -%}
        where {{ loaded_at }} > {{ sudata.built_up_to(watermark or loaded_at) }}
    {%- endif -%}
{%- endmacro %}


{#
    The intermediate models and the marts published as they are are incremental by key: a night recomputes
    only the keys its drops touched and merges them by key (unique_key, delete+insert; merge on Spark).

    Every row carries _changed_at, the load time of the newest drop that changed its key (on a rebuild, the
    load time of its own drop), so a model reads of its upstream only the rows changed since it was last
    built: built_up_to() is that watermark, the newest _changed_at of the model itself.

    A key that a corrected redelivery withdraws has no row any more. A delete+insert by key would keep its
    old one, so the model emits it as a tombstone (the key, every other column null, _changed_at null):
    the merge replaces the old row with it, and the post-hook drop_tombstones() deletes it.
#}
{% macro built_up_to(column='_changed_at') -%}
    (
        select coalesce(max({{ column }}), cast('1970-01-01 00:00:00' as {{ dbt.type_timestamp() }}))
        from {{ this }}
    )
{%- endmacro %}


{# Rows of a relation (a ref) changed since this model was last built (all of them on a full build). #}
{% macro changed_since_built(alias='') -%}
    {%- if is_incremental() -%}
        where {{ alias ~ '.' if alias }}_changed_at > {{ sudata.built_up_to() }}
    {%- endif -%}
{%- endmacro %}


{# key columns → "left.k1 = right.k1 and left.k2 = right.k2" #}
{% macro keys_equal(left, right, key) -%}
    {%- for k in key %}{{ left }}.{{ k }} = {{ right }}.{{ k }}{% if not loop.last %} and {% endif %}{% endfor -%}
{%- endmacro %}


{#
    merge_touched(rows, touched, key, columns): on an incremental run, one row per touched key in the model's
    columns: the recomputed row from `rows` (a CTE), or a tombstone where `rows` no longer holds the key.
    On a full build, `rows` as they are.
#}
{% macro merge_touched(rows, touched, key, columns) -%}
    {%- if is_incremental() -%}
    select
        {%- for c in columns %}
        {{ touched if c in key else rows }}.{{ c }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ touched }}
    left join {{ rows }}
        on {{ sudata.keys_equal(touched, rows, key) }}
    {%- else -%}
    select * from {{ rows }}
    {%- endif -%}
{%- endmacro %}


{# The post-hook of every model merged by key: the tombstones of withdrawn keys leave the model. #}
{% macro drop_tombstones() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where _changed_at is null
    {%- endif -%}
{%- endmacro %}


{# The keys this model holds that `relation` (the model it follows key by key) no longer holds: withdrawn
   by a corrected redelivery; merge_touched() turns each into a tombstone. #}
{% macro withdrawn_keys(relation, key) -%}
    select
        {%- for k in key %}
        held.{{ k }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ this }} as held
    where not exists (
        select 1 from {{ relation }} as current_rows
        where {{ sudata.keys_equal('current_rows', 'held', key) }}
    )
{%- endmacro %}


{#
    The aggregate models (a row per key summarising upstream rows: daily means, counts and last dates per
    enterprise) are incremental by key too. A night recomputes a key when one of its upstream rows changed
    since the model was built (changed_keys) or when the number of upstream rows the model counted for it
    is no longer the number upstream holds (recounted_keys): a row withdrawn by a corrected redelivery, or
    moved to another key by a correction, leaves no changed row behind, only a count that is off.

    A key the model does not hold yet gains a row only through a changed upstream row, so the recount
    looks at the keys the model holds.
#}
{% macro changed_keys(relation, key) -%}
    select distinct {{ key | join(', ') }}
    from {{ relation }}
    {{ sudata.changed_since_built() }}
{%- endmacro %}


{# recounted_keys(relation, key, counted): the keys of this model whose `counted` (an expression over this
   model's columns: the upstream rows it summarised) differs from the rows `relation` holds for them. #}
{% macro recounted_keys(relation, key, counted) -%}
    {%- set keys = key | join(', ') -%}
    select
        {%- for k in key %}
        held.{{ k }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from (select {{ keys }}, {{ counted }} as counted from {{ this }}) as held
    left join (select {{ keys }}, count(*) as counted from {{ relation }} group by {{ keys }}) as upstream
        on {{ sudata.keys_equal('held', 'upstream', key) }}
    where coalesce(upstream.counted, 0) <> held.counted
{%- endmacro %}


{# The newest _changed_at of the upstream relations: the _changed_at of every row an aggregate model
   recomputes (on a full build, of every row). #}
{% macro upstream_changed_at(relations) -%}
    (
        select max(changed_at) from (
            {%- for r in relations %}
            select max(_changed_at) as changed_at from {{ r }}{% if not loop.last %} union all{% endif %}
            {%- endfor %}
        ) as stamps
    )
{%- endmacro %}
