with

source as (

    select * from {{ source('raw', 'administrative_licences') }}
    {{ sudata.new_drops_only() }}

),

cleaned as (

    select
        {{ sudata.clean_code('licence_number', keep_hyphens=true) }} as licence_number,
        {{ sudata.clean_code('uscc') }} as uscc,
        {{ sudata.clean_text('licence_name') }} as licence_name,
        {{ sudata.clean_name('holder_name') }} as holder_name,
        {{ sudata.clean_name('legal_representative') }} as legal_representative,
        {{ sudata.clean_text('licence_content') }} as licence_content,
        {{ sudata.clean_text('authority') }} as authority,
        {{ sudata.clean_text('decision_date') }} as decision_date,
        {{ sudata.clean_text('valid_until') }} as valid_until,

        _source_file,
        _drop_date,
        _loaded_at,
        _row_number

    from source
    {{ sudata.optimisation_fence() }}

),

typed as (

    select
        licence_number,
        licence_name,
        holder_name,
        uscc,
        legal_representative,
        licence_content,
        {{ sudata.parse_date_multi('decision_date') }} as decision_date,
        {{ sudata.parse_date_multi('valid_until') }} as valid_until,
        coalesce(valid_until in ('长期', '长期有效', '永久', '无固定期限'), false) as is_long_term,
        authority,

        coalesce({{ sudata.is_valid_uscc('uscc') }}, false) as is_valid_uscc,

        case
            {{- sudata.missing_required_reasons(['licence_number', 'holder_name', 'uscc', 'decision_date']) }}
            when not {{ sudata.is_valid_uscc('uscc') }} then 'invalid_uscc'
            when {{ sudata.parse_date_multi('decision_date') }} is null then 'invalid_date:decision_date'
        end as reject_reason,

        _source_file,
        _drop_date,
        _loaded_at,
        _row_number

    from cleaned

)

select * from typed
