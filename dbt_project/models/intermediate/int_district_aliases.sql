{# Names under which each county-level unit of the seed can appear in an address. #}

with

districts as (

    select distinct district_code, district_name
    from {{ ref('suzhou_streets') }}

),

aliases as (

    select district_code, district_name as alias
    from districts

    union all

    {# 虎丘区 is better known by the high-tech zone that administers it #}
    select district_code, '苏州高新区' as alias
    from districts
    where district_code = '320505'

)

select
    district_code,
    alias,
    length(alias) as alias_length
from aliases
