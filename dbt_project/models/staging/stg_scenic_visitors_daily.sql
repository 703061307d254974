with

source as (

    select * from {{ source('raw', 'scenic_visitors_daily') }}
    {{ sudata.new_drops_only() }}

),

cleaned as (

    select
        {{ sudata.clean_code('spot_id', keep_hyphens=true) }} as spot_id,
        {{ sudata.clean_text('visit_date') }} as visit_date,
        {{ sudata.clean_number('visitors') }} as visitors,

        _source_file,
        _drop_date,
        _loaded_at,
        _row_number

    from source
    {{ sudata.optimisation_fence() }}

),

typed as (

    select
        spot_id,
        {{ sudata.parse_date_multi('visit_date') }} as visit_date,
        {{ sudata.parse_integer('visitors') }} as visitors,

        case
            {{- sudata.missing_required_reasons(['spot_id', 'visit_date']) }}
            when {{ sudata.parse_date_multi('visit_date') }} is null then 'invalid_date:visit_date'
        end as reject_reason,

        _source_file,
        _drop_date,
        _loaded_at,
        _row_number

    from cleaned

)

select * from typed
