with

source as (

    select * from {{ source('raw', 'air_quality_hourly') }}
    {{ sudata.new_drops_only() }}

),

districts as (

    select distinct district_code from {{ ref('suzhou_streets') }}

),

retired as (

    select * from {{ ref('suzhou_division_changes') }}

),

cleaned as (

    select
        {{ sudata.clean_code('station_code', keep_hyphens=true) }} as station_code,
        {{ sudata.clean_name('station_name') }} as station_name,
        {{ sudata.clean_code('district_code') }} as district_code,
        {{ sudata.clean_text('observed_at') }} as observed_at,
        {{ sudata.clean_number('aqi') }} as aqi,
        {{ sudata.clean_number('pm25') }} as pm25,
        {{ sudata.clean_number('pm10') }} as pm10,
        {{ sudata.clean_number('o3') }} as o3,
        {{ sudata.clean_number('no2') }} as no2,
        {{ sudata.clean_number('so2') }} as so2,
        {{ sudata.clean_number('co') }} as co,

        _source_file,
        _drop_date,
        _loaded_at,
        _row_number

    from source
    {{ sudata.optimisation_fence() }}

),

typed as (

    select
        cleaned.station_code,
        cleaned.station_name,
        {# county-level unit; a pre-2012 code is replaced by its successor; 320500 = a city-level station #}
        cleaned.district_code as district_code_delivered,
        case
            when cleaned.district_code = '{{ var("city_division_code") }}' then cleaned.district_code
            else coalesce(districts.district_code, successors.district_code)
        end as district_code,
        case
            when cleaned.district_code is null then null
            when cleaned.district_code = '{{ var("city_division_code") }}' or districts.district_code is not null then 'current'
            when successors.district_code is not null then 'remapped'
            when retired.code is not null then 'outdated'
            else 'unknown'
        end as district_code_status,
        {{ sudata.parse_timestamp_multi('cleaned.observed_at') }} as observed_at,
        cast({{ sudata.parse_timestamp_multi('cleaned.observed_at') }} as date) as observation_date,
        {# readings below zero are instrument faults, not measurements #}
        case when {{ sudata.parse_integer('cleaned.aqi') }} <= 999 then {{ sudata.parse_integer('cleaned.aqi') }} end as aqi,
        case when {{ sudata.parse_decimal('cleaned.pm25', 10, 3) }} >= 0 then {{ sudata.parse_decimal('cleaned.pm25', 10, 3) }} end as pm25_ug_m3,
        case when {{ sudata.parse_decimal('cleaned.pm10', 10, 3) }} >= 0 then {{ sudata.parse_decimal('cleaned.pm10', 10, 3) }} end as pm10_ug_m3,
        case when {{ sudata.parse_decimal('cleaned.o3', 10, 3) }} >= 0 then {{ sudata.parse_decimal('cleaned.o3', 10, 3) }} end as o3_ug_m3,
        case when {{ sudata.parse_decimal('cleaned.no2', 10, 3) }} >= 0 then {{ sudata.parse_decimal('cleaned.no2', 10, 3) }} end as no2_ug_m3,
        case when {{ sudata.parse_decimal('cleaned.so2', 10, 3) }} >= 0 then {{ sudata.parse_decimal('cleaned.so2', 10, 3) }} end as so2_ug_m3,
        case when {{ sudata.parse_decimal('cleaned.co', 10, 3) }} >= 0 then {{ sudata.parse_decimal('cleaned.co', 10, 3) }} end as co_mg_m3,

        case
            {{- sudata.missing_required_reasons(['cleaned.station_code', 'cleaned.observed_at']) }}
            when {{ sudata.parse_timestamp_multi('cleaned.observed_at') }} is null then 'invalid_timestamp:observed_at'
            when cleaned.district_code is null or cleaned.district_code = '{{ var("city_division_code") }}'
                or districts.district_code is not null or successors.district_code is not null
                then null
            when retired.code is not null then 'outdated_division_code:district_code'
            else 'unknown_division_code:district_code'
        end as reject_reason,

        cleaned._source_file,
        cleaned._drop_date,
        cleaned._loaded_at,
        cleaned._row_number

    from cleaned
    left join districts
        on cleaned.district_code = districts.district_code
    left join retired
        on cleaned.district_code = retired.code
    left join districts as successors
        on retired.replaced_by = successors.district_code

)

select * from typed
