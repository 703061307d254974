with

source as (

    select * from {{ source('raw', 'communities') }}
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
        {{ sudata.clean_code('community_code') }} as community_code,
        {{ sudata.clean_code('street_code') }} as street_code,
        {{ sudata.clean_name('community_name') }} as community_name,
        {{ sudata.clean_text('community_type') }} as community_type,
        {{ sudata.clean_text('address') }} as address,
        {{ sudata.clean_text('phone') }} as phone,
        {{ sudata.clean_number('households') }} as households,

        _source_file,
        _drop_date,
        _loaded_at,
        _row_number

    from source
    {{ sudata.optimisation_fence() }}

),

typed as (

    select
        cleaned.community_code,
        cleaned.community_name,
        cleaned.community_type,
        {{ sudata.street_code_columns('cleaned.street_code') }},
        cleaned.address,
        {{ sudata.parse_integer('cleaned.households') }} as households,
        {{ sudata.clean_phone('cleaned.phone') }} as phone,

        case
            {{- sudata.missing_required_reasons(['cleaned.community_code', 'cleaned.community_name', 'cleaned.street_code']) }}
        end as reject_reason,

        cleaned._source_file,
        cleaned._drop_date,
        cleaned._loaded_at,
        cleaned._row_number

    from cleaned
    {{ sudata.street_code_joins('cleaned.street_code') }}

)

select * from typed
