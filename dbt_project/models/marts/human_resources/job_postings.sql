with

postings as (

    select * from {{ ref('int_job_postings__deduped') }}

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
        {{ sudata.govern('contact_name', 'person_name') }} as contact_name,
        {{ sudata.govern('contact_phone', 'phone') }} as contact_phone,
        posted_date,
        street_code,
        district_code
    from postings

)

select * from final
