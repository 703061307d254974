{#
    quarantined_rows(): every delivered row of every declared source that is kept out of the published
    datasets, with the reason — the model int_quarantined_rows, derived from the declarations:

      a staged reject_reason  missing_required:<column>, invalid_uscc, invalid_id_number:<column>,
                              invalid_date:<column>, invalid_timestamp:<column>,
                              unknown_division_code:<column>, outdated_division_code:<column>
      no street               the delivered street code is unknown or retired and the address (if any)
                              names no street either (street_code_reject_reason)
      a missing reference     unknown_reference:<column>: the record it names is not in the source it
                              references (after that source's own quarantine)

    One row per rejected delivered row, so the quality report can count quarantined rows per source and
    drop date (source = registry source id; primary_key as delivered, components joined with '|').

    Incremental by drop (unique_key source, _drop_date): a row's reason depends only on its own drop and the
    seeds, so a night matches the addresses of the drops staged since the last build only. Each drop date
    it restages leaves a tombstone (source and date, _changed_at null) that replaces what was quarantined
    for that date before, then leaves with drop_tombstones(). A source that references another is checked
    again over its whole history every night: the record a row names may have arrived or gone since.
#}
{% macro quarantined_rows() -%}
{%- set sources = sudata.declarations()['sources'] -%}
with
{% for source_id, s in sources.items() %}
{%- set address_match = 'addresses_' ~ source_id if s.get('street') and s.get('address') else none %}
{%- set street_reason = sudata.street_code_reject_reason('staged', address_match) %}
staged_{{ source_id }} as (

    select * from {{ ref('stg_' ~ source_id) }}
    {%- if not s['references'] %}
    {{ sudata.new_drops_only(watermark='_changed_at') }}
    {%- endif %}

),
{%- if address_match %}
{{ sudata.address_street_ctes('staged_' ~ source_id, s['address'], name=address_match) }},
{% endif %}
rejected_{{ source_id }} as (

    select
        cast('{{ source_id }}' as {{ dbt.type_string() }}) as source,
        {{ sudata.key_text(sudata.qualified('staged', s['delivered_key'])) }} as primary_key,
        {%- if s.get('street') %}
        coalesce(staged.reject_reason, {{ street_reason }}) as reason,
        {%- else %}
        staged.reject_reason as reason,
        {%- endif %}
        staged._source_file,
        staged._row_number,
        staged._drop_date,
        staged._loaded_at as _changed_at
    from staged_{{ source_id }} as staged
    {%- if address_match %}
    left join {{ address_match }}
        on staged.{{ s['address'] }} = {{ address_match }}.address
    {%- endif %}
    where staged.reject_reason is not null
    {%- if s.get('street') %}
        or {{ street_reason }} is not null
    {%- endif %}

),
{% for column, target in s['references'].items() %}
unreferenced_{{ source_id }}__{{ column }} as (

    select
        cast('{{ source_id }}' as {{ dbt.type_string() }}) as source,
        {{ sudata.key_text(sudata.qualified('staged', s['delivered_key'])) }} as primary_key,
        cast('unknown_reference:{{ column }}' as {{ dbt.type_string() }}) as reason,
        staged._source_file,
        staged._row_number,
        staged._drop_date,
        staged._loaded_at as _changed_at
    from staged_{{ source_id }} as staged
    left join {{ ref('int_' ~ target['source'] ~ '__deduped') }} as known
        on staged.{{ column }} = known.{{ target['column'] }}
    where staged.reject_reason is null
        and known.{{ target['column'] }} is null

),
{% endfor %}
{%- if is_incremental() %}
restaged_{{ source_id }} as (

    select distinct
        cast('{{ source_id }}' as {{ dbt.type_string() }}) as source,
        cast(null as {{ dbt.type_string() }}) as primary_key,
        cast(null as {{ dbt.type_string() }}) as reason,
        cast(null as {{ dbt.type_string() }}) as _source_file,
        cast(null as {{ dbt.type_bigint() }}) as _row_number,
        _drop_date,
        cast(null as {{ dbt.type_timestamp() }}) as _changed_at
    from staged_{{ source_id }}

),
{% endif %}
{%- endfor %}

unioned as (

    {% for source_id, s in sources.items() %}
    select * from rejected_{{ source_id }}
    {%- for column in s['references'] %}
    union all
    select * from unreferenced_{{ source_id }}__{{ column }}
    {%- endfor %}
    {%- if is_incremental() %}
    union all
    select * from restaged_{{ source_id }}
    {%- endif %}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from unioned
{%- endmacro %}


{#
    unusable_value_counts(): per source, drop date and column, how many delivered values staging had to set to
    null (text in a number or date column, a number outside its bounds, an unreadable phone): the model
    int_unusable_values, read by the quality gate (a non-blocking accuracy check) so that nothing is lost
    silently. Only columns that can lose a value are counted.

    Incremental by drop like int_quarantined_rows: a night counts the drops staged since the last build, and
    each drop date it restages leaves a tombstone that replaces the counts it had before.
#}
{% macro unusable_value_counts() -%}
{%- set sources = sudata.declarations()['sources'] -%}
{%- set counted = {} -%}
{%- for source_id, s in sources.items() -%}
    {%- set columns = [] -%}
    {%- for c in s['columns'] if c['type'] in ('integer', 'decimal', 'date', 'datetime', 'phone', 'longitude', 'latitude', 'enum') -%}
        {%- do columns.append(c['staged']) -%}
    {%- endfor -%}
    {%- if columns -%}{%- do counted.update({source_id: columns}) -%}{%- endif -%}
{%- endfor -%}
with
{% for source_id, columns in counted.items() %}
staged_{{ source_id }} as (

    select _drop_date, _loaded_at, unusable_values
    from {{ ref('stg_' ~ source_id) }}
    {{ sudata.new_drops_only(watermark='_changed_at') }}

),

counts_{{ source_id }} as (

    select
        _drop_date,
        max(_loaded_at) as _changed_at,
        {%- for column in columns %}
        sum(case when {{ dbt.position("'," ~ column ~ ",'", 'unusable_values') }} > 0 then 1 else 0 end) as {{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from staged_{{ source_id }}
    where unusable_values is not null
    group by _drop_date

),
{% endfor %}
unpivoted as (

    {%- for source_id, columns in counted.items() %}
    {%- set outer = loop %}
    {%- if is_incremental() %}
    select distinct
        cast('{{ source_id }}' as {{ dbt.type_string() }}) as source,
        _drop_date,
        cast(null as {{ dbt.type_string() }}) as column_name,
        cast(null as {{ dbt.type_bigint() }}) as unusable_values,
        cast(null as {{ dbt.type_timestamp() }}) as _changed_at
    from staged_{{ source_id }}
    union all
    {%- endif %}
    {%- for column in columns %}
    select
        cast('{{ source_id }}' as {{ dbt.type_string() }}) as source,
        _drop_date,
        cast('{{ column }}' as {{ dbt.type_string() }}) as column_name,
        {{ column }} as unusable_values,
        _changed_at
    from counts_{{ source_id }}
    where {{ column }} > 0
    {% if not (outer.last and loop.last) %}union all{% endif %}
    {%- endfor %}
    {%- endfor %}

)

select * from unpivoted
{%- endmacro %}
