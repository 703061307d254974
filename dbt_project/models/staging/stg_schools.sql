with

source as (

    select * from {{ source('raw', 'schools') }}
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
        {{ sudata.clean_code('school_code') }} as school_code,
        {{ sudata.clean_code('street_code') }} as street_code,
        {{ sudata.clean_name('school_name') }} as school_name,
        {{ sudata.clean_text('school_type') }} as school_type,
        {{ sudata.clean_text('operator_type') }} as operator_type,
        {{ sudata.clean_text('address') }} as address,
        {{ sudata.clean_name('principal_name') }} as principal_name,
        {{ sudata.clean_text('phone') }} as phone,
        {{ sudata.clean_number('students') }} as students,
        {{ sudata.clean_number('teachers') }} as teachers,

        _source_file,
        _drop_date,
        _loaded_at,
        _row_number

    from source
    {{ sudata.optimisation_fence() }}

),

typed as (

    select
        cleaned.school_code,
        cleaned.school_name,
        cleaned.school_type,
        cleaned.operator_type,
        cleaned.address,
        {{ sudata.street_code_columns('cleaned.street_code') }},
        {{ sudata.parse_integer('cleaned.students') }} as students,
        {{ sudata.parse_integer('cleaned.teachers') }} as teachers,
        {{ sudata.clean_phone('cleaned.phone') }} as phone,
        cleaned.principal_name,

        case
            {{- sudata.missing_required_reasons(['cleaned.school_code', 'cleaned.school_name']) }}
        end as reject_reason,

        cleaned._source_file,
        cleaned._drop_date,
        cleaned._loaded_at,
        cleaned._row_number

    from cleaned
    {{ sudata.street_code_joins('cleaned.street_code') }}

)

select * from typed
