{#
    One row per enterprise known to the credit sources: registration status and the counts and dates of
    its licences, penalties and registration changes. Conditional: it names legal representatives.
#}

with

enterprises as (

    select * from {{ ref('int_enterprises') }}

),

final as (

    select
        uscc,
        enterprise_name,
        {{ sudata.govern('legal_representative', 'person_name') }} as legal_representative,
        is_registered,
        status,
        established_date,
        licence_count,
        last_licence_date,
        penalty_count,
        last_penalty_date,
        total_fine_10k_cny,
        change_count,
        last_change_date,
        street_code,
        district_code
    from enterprises

)

select * from final
