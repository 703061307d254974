with

source as (

    select * from {{ source('raw', 'administrative_penalties') }}
    {{ sudata.new_drops_only() }}

),

cleaned as (

    select
        {{ sudata.clean_code('penalty_number', keep_hyphens=true) }} as penalty_number,
        {{ sudata.clean_code('uscc') }} as uscc,
        {{ sudata.clean_name('party_name') }} as party_name,
        {{ sudata.clean_name('legal_representative') }} as legal_representative,
        {{ sudata.clean_text('violation_type') }} as violation_type,
        {{ sudata.clean_text('penalty_content') }} as penalty_content,
        {{ sudata.clean_text('authority') }} as authority,
        {{ sudata.clean_number('fine_amount') }} as fine_amount,
        {{ sudata.clean_text('decision_date') }} as decision_date,

        _source_file,
        _drop_date,
        _loaded_at,
        _row_number

    from source
    {{ sudata.optimisation_fence() }}

),

typed as (

    select
        penalty_number,
        party_name,
        uscc,
        legal_representative,
        violation_type,
        penalty_content,
        {{ sudata.parse_decimal('fine_amount', 18, 4) }} as fine_amount_10k_cny,
        {{ sudata.parse_date_multi('decision_date') }} as decision_date,
        authority,

        coalesce({{ sudata.is_valid_uscc('uscc') }}, false) as is_valid_uscc,

        case
            {{- sudata.missing_required_reasons(['penalty_number', 'party_name', 'uscc', 'decision_date']) }}
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
