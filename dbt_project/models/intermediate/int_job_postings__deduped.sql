{#
    job_postings: the valid rows (reject_reason is null; the others are in int_quarantined_rows), one per
    posting_id: a later delivery of the same key is a correction and wins (latest _drop_date,
    then the highest _row_number).
    A street code that is missing, unknown or outdated is derived from the work_address
    (address_street_ctes); a row whose delivered code is unusable and whose work_address names no street
    is quarantined instead.
    street_code_origin: declared | remapped (pre-2012 prefix replaced) | address.
#}

with

staged as (

    select * from {{ ref('stg_job_postings') }}
    where reject_reason is null

),

{{ sudata.address_street_ctes('staged', 'work_address') }},

located as (

    select
        staged.posting_id,
        staged.employer_name,
        staged.uscc,
        staged.job_title,
        staged.openings,
        staged.salary_min_cny,
        staged.salary_max_cny,
        staged.education_required,
        staged.work_address,
        staged.contact_name,
        staged.contact_phone,
        staged.posted_date,
        coalesce(staged.street_code, addresses.street_code) as street_code,
        coalesce(staged.district_code, addresses.district_code) as district_code,
        case
            when staged.street_code_status = 'current' then 'declared'
            when staged.street_code_status = 'remapped' then 'remapped'
            when addresses.street_code is not null then 'address'
        end as street_code_origin,
        staged._source_file,
        staged._drop_date,
        staged._row_number
    from staged
    left join addresses
        on staged.work_address = addresses.address
    where {{ sudata.street_code_reject_reason('staged', 'addresses') }} is null

),

latest as (

    {{ sudata.latest_correction('located', ['posting_id']) }}

),

final as (

    select
        posting_id,
        employer_name,
        uscc,
        job_title,
        openings,
        salary_min_cny,
        salary_max_cny,
        education_required,
        work_address,
        contact_name,
        contact_phone,
        posted_date,
        street_code,
        district_code,
        street_code_origin,
        _source_file,
        _drop_date,
        _row_number
    from latest

)

select * from final
