with

source as (

    select * from {{ source('raw', 'bus_stops') }}
    {{ sudata.new_drops_only() }}

),

streets as (

    select * from {{ ref('suzhou_streets') }}

),

retired as (

    select * from {{ ref('suzhou_division_changes') }}

),

cleaned as (

    select
        {{ sudata.clean_code('stop_id', keep_hyphens=true) }} as stop_id,
        {{ sudata.clean_code('street_code') }} as street_code,
        {{ sudata.clean_name('stop_name') }} as stop_name,
        {# one separator: 、 (some exports use commas) #}
        replace({{ sudata.clean_text('routes') }}, ',', '、') as routes,
        {{ sudata.clean_number('longitude') }} as longitude,
        {{ sudata.clean_number('latitude') }} as latitude,

        _source_file,
        _drop_date,
        _loaded_at,
        _row_number

    from source
    {{ sudata.optimisation_fence() }}

),

typed as (

    select
        cleaned.stop_id,
        cleaned.stop_name,
        {{ sudata.coordinate(sudata.parse_decimal('cleaned.longitude', 10, 6), sudata.parse_decimal('cleaned.latitude', 10, 6), 'longitude') }} as longitude,
        {{ sudata.coordinate(sudata.parse_decimal('cleaned.longitude', 10, 6), sudata.parse_decimal('cleaned.latitude', 10, 6), 'latitude') }} as latitude,
        {{ sudata.street_code_columns('cleaned.street_code') }},
        cleaned.routes,

        case
            {{- sudata.missing_required_reasons(['cleaned.stop_id', 'cleaned.stop_name']) }}
        end as reject_reason,

        cleaned._source_file,
        cleaned._drop_date,
        cleaned._loaded_at,
        cleaned._row_number

    from cleaned
    {{ sudata.street_code_joins('cleaned.street_code') }}

)

select * from typed
