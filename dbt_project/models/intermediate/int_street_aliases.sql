{#
    Names under which each street/town of the seed can appear in an address.

    The official name (half-width), and for names with a parenthesis its parts: 科技城（东渚街道） is
    found as 科技城 or 东渚街道, 浒墅关经开区（镇） as 浒墅关经开区. An alias that is part of
    another street's alias (开发区 inside 昆山开发区) is ambiguous on its own and only counts when the
    address also names the street's county-level unit.
#}

with

streets as (

    select
        code as street_code,
        {{ sudata.to_halfwidth('name') }} as street_name,
        district_code
    from {{ ref('suzhou_streets') }}

),

split_names as (

    select
        street_code,
        district_code,
        street_name,
        {{ dbt.position("'('", 'street_name') }} as open_at,
        {{ dbt.position("')'", 'street_name') }} as close_at
    from streets

),

aliases as (

    select street_code, district_code, street_name as alias
    from split_names

    union all

    select street_code, district_code, substr(street_name, 1, open_at - 1) as alias
    from split_names
    where open_at > 1

    union all

    {# the part in parentheses when it is a name of its own (东渚街道), not a bare 镇 / 街道 #}
    select street_code, district_code, substr(street_name, open_at + 1, close_at - open_at - 1) as alias
    from split_names
    where
        open_at > 1
        and close_at > open_at + 1
        and substr(street_name, open_at + 1, close_at - open_at - 1) not in ('镇', '街道')

),

usable as (

    select distinct street_code, district_code, alias
    from aliases
    where length(alias) >= 2

),

flagged as (

    select
        usable.street_code,
        usable.district_code,
        usable.alias,
        length(usable.alias) as alias_length,
        count(other.alias) > 0 as needs_district
    from usable
    left join usable as other
        on
            other.street_code <> usable.street_code
            and {{ dbt.position('usable.alias', 'other.alias') }} > 0
    group by usable.street_code, usable.district_code, usable.alias

)

select * from flagged
