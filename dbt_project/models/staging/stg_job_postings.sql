with

source as (

    select * from {{ source('raw', 'job_postings') }}
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
        {{ sudata.clean_code('posting_id', keep_hyphens=true) }} as posting_id,
        {{ sudata.clean_code('uscc') }} as uscc,
        {{ sudata.clean_code('street_code') }} as street_code,
        {{ sudata.clean_name('employer_name') }} as employer_name,
        {{ sudata.clean_text('job_title') }} as job_title,
        {{ sudata.clean_text('education_required') }} as education_required,
        {{ sudata.clean_text('work_address') }} as work_address,
        {{ sudata.clean_name('contact_name') }} as contact_name,
        {{ sudata.clean_text('contact_phone') }} as contact_phone,
        {{ sudata.clean_number('openings') }} as openings,
        {{ sudata.clean_number('salary_min') }} as salary_min,
        {{ sudata.clean_number('salary_max') }} as salary_max,
        {{ sudata.clean_text('posted_date') }} as posted_date,

        _source_file,
        _drop_date,
        _loaded_at,
        _row_number

    from source
    {{ sudata.optimisation_fence() }}

),

typed as (

    select
        cleaned.posting_id,
        cleaned.employer_name,
        cleaned.uscc,
        cleaned.job_title,
        {%- set salary_min = sudata.parse_integer('cleaned.salary_min') %}
        {%- set salary_max = sudata.parse_integer('cleaned.salary_max') %}
        {{ sudata.parse_integer('cleaned.openings') }} as openings,
        {# a range delivered upside down is put right #}
        case when {{ salary_max }} < {{ salary_min }} then {{ salary_max }} else {{ salary_min }} end as salary_min_cny,
        case when {{ salary_max }} < {{ salary_min }} then {{ salary_min }} else {{ salary_max }} end as salary_max_cny,
        cleaned.education_required,
        cleaned.work_address,
        {{ sudata.street_code_columns('cleaned.street_code') }},
        cleaned.contact_name,
        {{ sudata.clean_phone('cleaned.contact_phone') }} as contact_phone,
        {{ sudata.parse_date_multi('cleaned.posted_date') }} as posted_date,

        {{ sudata.is_valid_uscc('cleaned.uscc') }} as is_valid_uscc,

        case
            {{- sudata.missing_required_reasons(['cleaned.posting_id', 'cleaned.employer_name', 'cleaned.job_title', 'cleaned.posted_date']) }}
            when not {{ sudata.is_valid_uscc('cleaned.uscc') }} then 'invalid_uscc'
            when {{ sudata.parse_date_multi('cleaned.posted_date') }} is null then 'invalid_date:posted_date'
        end as reject_reason,

        cleaned._source_file,
        cleaned._drop_date,
        cleaned._loaded_at,
        cleaned._row_number

    from cleaned
    {{ sudata.street_code_joins('cleaned.street_code') }}

)

select * from typed
