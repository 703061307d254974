with

source as (

    select * from {{ source('raw', 'elderly_care_facilities') }}
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
        {{ sudata.clean_code('uscc') }} as uscc,
        {{ sudata.clean_code('street_code') }} as street_code,
        {{ sudata.clean_name('facility_name') }} as facility_name,
        {{ sudata.clean_text('facility_type') }} as facility_type,
        {{ sudata.clean_text('address') }} as address,
        {{ sudata.clean_name('head_name') }} as head_name,
        {{ sudata.clean_text('phone') }} as phone,
        {{ sudata.clean_number('beds') }} as beds,
        {{ sudata.clean_number('residents') }} as residents,

        _source_file,
        _drop_date,
        _loaded_at,
        _row_number

    from source
    {{ sudata.optimisation_fence() }}

),

typed as (

    select
        cleaned.uscc,
        cleaned.facility_name,
        cleaned.facility_type,
        cleaned.address,
        {{ sudata.street_code_columns('cleaned.street_code') }},
        {{ sudata.parse_integer('cleaned.beds') }} as beds,
        {{ sudata.parse_integer('cleaned.residents') }} as residents,
        cleaned.head_name,
        {{ sudata.clean_phone('cleaned.phone') }} as phone,

        coalesce({{ sudata.is_valid_uscc('cleaned.uscc') }}, false) as is_valid_uscc,

        case
            {{- sudata.missing_required_reasons(['cleaned.uscc', 'cleaned.facility_name']) }}
            when not {{ sudata.is_valid_uscc('cleaned.uscc') }} then 'invalid_uscc'
        end as reject_reason,

        cleaned._source_file,
        cleaned._drop_date,
        cleaned._loaded_at,
        cleaned._row_number

    from cleaned
    {{ sudata.street_code_joins('cleaned.street_code') }}

)

select * from typed
