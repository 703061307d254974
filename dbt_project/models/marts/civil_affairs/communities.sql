with

communities as (

    select * from {{ ref('int_communities__deduped') }}

),

final as (

    select
        community_code,
        community_name,
        community_type,
        address,
        households,
        phone,
        street_code,
        district_code
    from communities

)

select * from final
