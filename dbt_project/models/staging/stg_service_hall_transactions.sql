with

source as (

    select * from {{ source('raw', 'service_hall_transactions') }}
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
        {{ sudata.clean_code('street_code') }} as street_code,
        {{ sudata.clean_text('service_category') }} as service_category,
        {{ sudata.clean_text('service_date') }} as service_date,
        {{ sudata.clean_number('received') }} as received,
        {{ sudata.clean_number('completed') }} as completed,
        {{ sudata.clean_number('avg_minutes') }} as avg_minutes,

        _source_file,
        _drop_date,
        _loaded_at,
        _row_number

    from source
    {{ sudata.optimisation_fence() }}

),

typed as (

    select
        {{ sudata.street_code_columns('cleaned.street_code') }},
        {{ sudata.parse_date_multi('cleaned.service_date') }} as service_date,
        cleaned.service_category,
        {{ sudata.parse_integer('cleaned.received') }} as received,
        {{ sudata.parse_integer('cleaned.completed') }} as completed,
        case when {{ sudata.parse_decimal('cleaned.avg_minutes', 10, 2) }} >= 0 then {{ sudata.parse_decimal('cleaned.avg_minutes', 10, 2) }} end as avg_minutes,

        case
            {{- sudata.missing_required_reasons(['cleaned.street_code', 'cleaned.service_date', 'cleaned.service_category']) }}
            when {{ sudata.parse_date_multi('cleaned.service_date') }} is null then 'invalid_date:service_date'
        end as reject_reason,

        cleaned._source_file,
        cleaned._drop_date,
        cleaned._loaded_at,
        cleaned._row_number

    from cleaned
    {{ sudata.street_code_joins('cleaned.street_code') }}

)

select * from typed
