with

source as (

    select * from {{ source('raw', 'public_parking') }}
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
        {{ sudata.clean_code('parking_id', keep_hyphens=true) }} as parking_id,
        {{ sudata.clean_code('street_code') }} as street_code,
        {{ sudata.clean_name('parking_name') }} as parking_name,
        {{ sudata.clean_text('address') }} as address,
        {{ sudata.clean_text('fee_standard') }} as fee_standard,
        {{ sudata.clean_text('opening_hours') }} as opening_hours,
        {{ sudata.clean_number('longitude') }} as longitude,
        {{ sudata.clean_number('latitude') }} as latitude,
        {{ sudata.clean_number('spaces') }} as spaces,

        _source_file,
        _drop_date,
        _loaded_at,
        _row_number

    from source
    {{ sudata.optimisation_fence() }}

),

typed as (

    select
        cleaned.parking_id,
        cleaned.parking_name,
        cleaned.address,
        {{ sudata.street_code_columns('cleaned.street_code') }},
        {{ sudata.parse_integer('cleaned.spaces') }} as spaces,
        cleaned.fee_standard,
        cleaned.opening_hours,
        {{ sudata.coordinate(sudata.parse_decimal('cleaned.longitude', 10, 6), sudata.parse_decimal('cleaned.latitude', 10, 6), 'longitude') }} as longitude,
        {{ sudata.coordinate(sudata.parse_decimal('cleaned.longitude', 10, 6), sudata.parse_decimal('cleaned.latitude', 10, 6), 'latitude') }} as latitude,

        case
            {{- sudata.missing_required_reasons(['cleaned.parking_id', 'cleaned.parking_name']) }}
        end as reject_reason,

        cleaned._source_file,
        cleaned._drop_date,
        cleaned._loaded_at,
        cleaned._row_number

    from cleaned
    {{ sudata.street_code_joins('cleaned.street_code') }}

)

select * from typed
