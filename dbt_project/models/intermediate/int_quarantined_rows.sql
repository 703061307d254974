{#
    Every delivered row that is kept out of the published datasets, with the reason: a mandatory value
    missing, an invalid identifier (check character, birth date), an unreadable mandatory date, a
    division code that is unknown or retired and cannot be put right (by its successor code or from
    the row's address), or a reference to a record missing from its master data. One row per rejected
    delivered row, so the quality report can count quarantined rows per source and drop date
    (source = registry source id).

    Reasons are codes: missing_required:<column>, invalid_uscc, invalid_id_number:<column>,
    invalid_date:<column>, invalid_timestamp:<column>, unknown_division_code:<column>,
    outdated_division_code:<column>, unknown_reference:<column>.
#}

{#- registry source id → primary key (as in registry/*.yml; the delivered street code where it is
    part of the key), whether it has a street code, and the address column that can stand in for it -#}
{%- set sources = {
    'administrative_licences': {'key': ['licence_number']},
    'administrative_penalties': {'key': ['penalty_number']},
    'air_quality_hourly': {'key': ['station_code', 'observed_at']},
    'bus_stops': {'key': ['stop_id'], 'street': true},
    'communities': {'key': ['community_code'], 'street': true, 'address': 'address'},
    'elderly_care_facilities': {'key': ['uscc'], 'street': true, 'address': 'address'},
    'enterprise_changes': {'key': ['uscc', 'change_item', 'change_date']},
    'enterprise_registrations': {'key': ['uscc']},
    'job_postings': {'key': ['posting_id'], 'street': true, 'address': 'work_address'},
    'medical_institutions': {'key': ['uscc'], 'street': true, 'address': 'address'},
    'public_parking': {'key': ['parking_id'], 'street': true, 'address': 'address'},
    'scenic_spots': {'key': ['spot_id'], 'street': true, 'address': 'address'},
    'scenic_visitors_daily': {'key': ['spot_id', 'visit_date']},
    'schools': {'key': ['school_code'], 'street': true, 'address': 'address'},
    'service_hall_transactions': {'key': ['street_code_delivered', 'service_date', 'service_category'], 'street': true},
} -%}

with

{% for source_id, spec in sources.items() %}
{%- set address_match = 'addresses_' ~ source_id if spec.get('address') else none %}
{%- set street_reason = sudata.street_code_reject_reason('staged', address_match) %}
{%- if address_match %}
{{ sudata.address_street_ctes(ref('stg_' ~ source_id), spec['address'], name=address_match) }},
{% endif %}
rejected_{{ source_id }} as (

    select
        cast('{{ source_id }}' as {{ dbt.type_string() }}) as source,
        {{ sudata.key_text(sudata.qualified('staged', spec['key'])) }} as primary_key,
        {%- if spec.get('street') %}
        coalesce(staged.reject_reason, {{ street_reason }}) as reason,
        {%- else %}
        staged.reject_reason as reason,
        {%- endif %}
        staged._source_file,
        staged._row_number,
        staged._drop_date
    from {{ ref('stg_' ~ source_id) }} as staged
    {%- if address_match %}
    left join {{ address_match }}
        on staged.{{ spec['address'] }} = {{ address_match }}.address
    {%- endif %}
    where staged.reject_reason is not null
    {%- if spec.get('street') %}
        or {{ street_reason }} is not null
    {%- endif %}

),
{% endfor %}

unreferenced_scenic_visitors_daily as (

    select
        cast('scenic_visitors_daily' as {{ dbt.type_string() }}) as source,
        {{ sudata.key_text(['visits.spot_id', 'visits.visit_date']) }} as primary_key,
        cast('unknown_reference:spot_id' as {{ dbt.type_string() }}) as reason,
        visits._source_file,
        visits._row_number,
        visits._drop_date
    from {{ ref('stg_scenic_visitors_daily') }} as visits
    left join {{ ref('int_scenic_spots__deduped') }} as spots
        on visits.spot_id = spots.spot_id
    where visits.reject_reason is null
        and spots.spot_id is null

),

unioned as (

    {% for source_id in sources %}
    select * from rejected_{{ source_id }}
    union all
    {% endfor %}
    select * from unreferenced_scenic_visitors_daily

)

select * from unioned
