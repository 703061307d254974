with

source as (

    select * from {{ source('raw', 'enterprise_registrations') }}
    {{ sudata.new_drops_only() }}

),

cleaned as (

    select
        ---------- identifiers
        {{ sudata.clean_code('uscc') }} as uscc,
        {{ sudata.clean_code('legal_rep_id_number') }} as legal_rep_id_number,

        ---------- text
        {{ sudata.clean_name('enterprise_name') }} as enterprise_name,
        {{ sudata.clean_text('enterprise_type') }} as enterprise_type,
        {{ sudata.clean_name('legal_representative') }} as legal_representative,
        {{ sudata.clean_text('status') }} as status,
        {{ sudata.clean_text('address') }} as address,
        {{ sudata.clean_text('business_scope') }} as business_scope,
        {{ sudata.clean_text('registration_authority') }} as registration_authority,
        {{ sudata.clean_text('contact_phone') }} as contact_phone,

        ---------- numbers and dates (still text)
        {{ sudata.clean_number('registered_capital') }} as registered_capital,
        {{ sudata.clean_text('established_date') }} as established_date,

        ---------- lineage
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
        enterprise_name,
        enterprise_type,
        legal_representative,
        legal_rep_id_number,
        {{ sudata.parse_decimal('registered_capital', 18, 4) }} as registered_capital_10k_cny,
        {{ sudata.parse_date_multi('established_date') }} as established_date,
        status,
        address,
        business_scope,
        {{ sudata.clean_phone('contact_phone') }} as contact_phone,
        registration_authority,

        coalesce({{ sudata.is_valid_uscc('uscc') }}, false) as is_valid_uscc,
        {{ sudata.is_valid_id_number('legal_rep_id_number') }} as is_valid_legal_rep_id_number,

        case
            {{- sudata.missing_required_reasons(['uscc', 'enterprise_name']) }}
            when not {{ sudata.is_valid_uscc('uscc') }} then 'invalid_uscc'
            when not {{ sudata.is_valid_id_number('legal_rep_id_number') }} then 'invalid_id_number:legal_rep_id_number'
        end as reject_reason,

        _source_file,
        _drop_date,
        _loaded_at,
        _row_number

    from cleaned

)

select * from typed
