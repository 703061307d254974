with

source as (

    select * from {{ source('raw', 'scenic_spots') }}
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
        {{ sudata.clean_code('spot_id', keep_hyphens=true) }} as spot_id,
        {{ sudata.clean_code('street_code') }} as street_code,
        {{ sudata.clean_name('spot_name') }} as spot_name,
        {{ sudata.clean_code('rating') }} as rating,
        {{ sudata.clean_text('address') }} as address,
        {{ sudata.clean_text('opening_hours') }} as opening_hours,
        {{ sudata.clean_text('phone') }} as phone,
        {{ sudata.clean_number('ticket_price') }} as ticket_price,

        _source_file,
        _drop_date,
        _loaded_at,
        _row_number

    from source
    {{ sudata.optimisation_fence() }}

),

typed as (

    select
        cleaned.spot_id,
        cleaned.spot_name,
        {# 5A / AAAAA / 5A级 → 5A #}
        case
            when replace(cleaned.rating, '级', '') in ('AAAAA', '5A') then '5A'
            when replace(cleaned.rating, '级', '') in ('AAAA', '4A') then '4A'
            when replace(cleaned.rating, '级', '') in ('AAA', '3A') then '3A'
            when replace(cleaned.rating, '级', '') in ('AA', '2A') then '2A'
            when replace(cleaned.rating, '级', '') in ('A', '1A') then '1A'
        end as rating,
        cleaned.address,
        {{ sudata.street_code_columns('cleaned.street_code') }},
        cleaned.opening_hours,
        {# 免费 → 0; a seasonal price (旺季60/淡季50) → the peak-season price #}
        case
            when cleaned.ticket_price = '免费' then 0
            when {{ dbt.position("'旺季'", 'cleaned.ticket_price') }} > 0
                then {{ sudata.parse_decimal(dbt.split_part("replace(cleaned.ticket_price, '旺季', '')", "'/'", 1), 10, 2) }}
            else {{ sudata.parse_decimal('cleaned.ticket_price', 10, 2) }}
        end as ticket_price_cny,
        {{ sudata.clean_phone('cleaned.phone') }} as phone,

        case
            {{- sudata.missing_required_reasons(['cleaned.spot_id', 'cleaned.spot_name']) }}
        end as reject_reason,

        cleaned._source_file,
        cleaned._drop_date,
        cleaned._loaded_at,
        cleaned._row_number

    from cleaned
    {{ sudata.street_code_joins('cleaned.street_code') }}

)

select * from typed
