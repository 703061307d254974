with

source as (

    select * from {{ source('raw', 'medical_institutions') }}
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
        {{ sudata.clean_name('institution_name') }} as institution_name,
        {{ sudata.clean_text('category') }} as category,
        {{ sudata.clean_text('level') }} as level,
        {{ sudata.clean_text('address') }} as address,
        {{ sudata.clean_name('head_name') }} as head_name,
        {{ sudata.clean_text('phone') }} as phone,
        {{ sudata.clean_number('beds') }} as beds,

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
        cleaned.institution_name,
        cleaned.category,
        cleaned.level,
        cleaned.address,
        {{ sudata.street_code_columns('cleaned.street_code') }},
        {{ sudata.parse_integer('cleaned.beds') }} as beds,
        {{ sudata.clean_phone('cleaned.phone') }} as phone,
        cleaned.head_name,

        coalesce({{ sudata.is_valid_uscc('cleaned.uscc') }}, false) as is_valid_uscc,

        case
            {{- sudata.missing_required_reasons(['cleaned.uscc', 'cleaned.institution_name']) }}
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
