{#
    Daily figures per monitoring station from the hourly readings: means of the hourly concentrations
    (rounded half up), the highest hourly AQI and the number of valid hours. A per-day aggregate, so
    that it can become incremental on _drop_date without reading the whole history.
#}

with

hourly as (

    select * from {{ ref('int_air_quality_hourly__deduped') }}

),

daily as (

    select
        station_code,
        observation_date,
        max(station_name) as station_name,
        max(district_code) as district_code,
        count(*) as hours_reported,
        count(aqi) as hours_with_aqi,
        cast({{ sudata.avg_rounded('aqi', 0) }} as {{ dbt.type_bigint() }}) as aqi_mean,
        max(aqi) as aqi_max,
        {{ sudata.avg_rounded('pm25_ug_m3', 1) }} as pm25_mean_ug_m3,
        {{ sudata.avg_rounded('pm10_ug_m3', 1) }} as pm10_mean_ug_m3,
        cast(max(o3_ug_m3) as decimal(10, 1)) as o3_max_hourly_ug_m3,
        {{ sudata.avg_rounded('no2_ug_m3', 1) }} as no2_mean_ug_m3,
        {{ sudata.avg_rounded('so2_ug_m3', 1) }} as so2_mean_ug_m3,
        {{ sudata.avg_rounded('co_mg_m3', 2) }} as co_mean_mg_m3
    from hourly
    group by station_code, observation_date

)

select * from daily
