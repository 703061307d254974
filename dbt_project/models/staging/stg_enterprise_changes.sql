with

source as (

    select * from {{ source('raw', 'enterprise_changes') }}
    {{ sudata.new_drops_only() }}

),

cleaned as (

    select
        {{ sudata.clean_code('uscc') }} as uscc,
        {{ sudata.clean_text('change_item') }} as change_item,
        {{ sudata.clean_text('value_before') }} as value_before,
        {{ sudata.clean_text('value_after') }} as value_after,
        {{ sudata.clean_text('change_date') }} as change_date,

        _source_file,
        _drop_date,
        _loaded_at,
        _row_number

    from source
    {{ sudata.optimisation_fence() }}

),

typed as (

    select
        uscc,
        change_item,
        value_before,
        value_after,
        {{ sudata.parse_date_multi('change_date') }} as change_date,

        coalesce({{ sudata.is_valid_uscc('uscc') }}, false) as is_valid_uscc,

        case
            {{- sudata.missing_required_reasons(['uscc', 'change_item', 'change_date']) }}
            when not {{ sudata.is_valid_uscc('uscc') }} then 'invalid_uscc'
            when {{ sudata.parse_date_multi('change_date') }} is null then 'invalid_date:change_date'
        end as reject_reason,

        _source_file,
        _drop_date,
        _loaded_at,
        _row_number

    from cleaned

)

select * from typed
