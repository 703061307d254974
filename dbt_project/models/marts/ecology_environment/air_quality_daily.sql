{#
    Daily figures per monitoring station from the hourly readings: means of the hourly concentrations
    (rounded half up), the highest hourly AQI and the number of valid hours. Incremental by
    station-day (macros/incremental.sql): a night recomputes the days whose hours changed or went.

    Validity (HJ 663-2013, 环境空气质量评价技术规范): a daily value needs at least var('min_valid_hours')
    (20) valid hourly values of that pollutant, else it is null; a station-day without any valid hour is
    not published at all (a row of null means would read as a measurement).
#}
{%- set key = ['station_code', 'observation_date'] %}
{%- set hourly_model = ref('int_air_quality_hourly__deduped') %}
{{ config(unique_key=key) }}

with
{%- if is_incremental() %}

{# the station-days with a changed hour, and those that lost one (hours_reported counts their hours) #}
touched as (

    {{ sudata.changed_keys(hourly_model, key) }}
    union
    {{ sudata.recounted_keys(hourly_model, key, 'hours_reported') }}

),
{%- endif %}

hourly as (

    select hourly_rows.*
    from {{ hourly_model }} as hourly_rows
    {%- if is_incremental() %}
    inner join touched
        on {{ sudata.keys_equal('hourly_rows', 'touched', key) }}
    {%- endif %}

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
        {{ sudata.avg_rounded('co_mg_m3', 2) }} as co_mean_mg_m3,
        count(pm25_ug_m3) as pm25_hours,
        count(pm10_ug_m3) as pm10_hours,
        count(o3_ug_m3) as o3_hours,
        count(no2_ug_m3) as no2_hours,
        count(so2_ug_m3) as so2_hours,
        count(co_mg_m3) as co_hours
    from hourly
    group by station_code, observation_date

),

{%- set min_hours = var('min_valid_hours') %}

valid as (

    select
        station_code,
        observation_date,
        station_name,
        district_code,
        hours_reported,
        hours_with_aqi,
        case when hours_with_aqi >= {{ min_hours }} then aqi_mean end as aqi_mean,
        aqi_max,
        case when pm25_hours >= {{ min_hours }} then pm25_mean_ug_m3 end as pm25_mean_ug_m3,
        case when pm10_hours >= {{ min_hours }} then pm10_mean_ug_m3 end as pm10_mean_ug_m3,
        case when o3_hours >= {{ min_hours }} then o3_max_hourly_ug_m3 end as o3_max_hourly_ug_m3,
        case when no2_hours >= {{ min_hours }} then no2_mean_ug_m3 end as no2_mean_ug_m3,
        case when so2_hours >= {{ min_hours }} then so2_mean_ug_m3 end as so2_mean_ug_m3,
        case when co_hours >= {{ min_hours }} then co_mean_mg_m3 end as co_mean_mg_m3,
        {{ sudata.upstream_changed_at([hourly_model]) }} as _changed_at
    from daily
    where hours_with_aqi + pm25_hours + pm10_hours + o3_hours + no2_hours + so2_hours + co_hours > 0

)

{{ sudata.merge_touched('valid', 'touched', key, [
    'station_code', 'observation_date', 'station_name', 'district_code', 'hours_reported', 'hours_with_aqi',
    'aqi_mean', 'aqi_max', 'pm25_mean_ug_m3', 'pm10_mean_ug_m3', 'o3_max_hourly_ug_m3', 'no2_mean_ug_m3',
    'so2_mean_ug_m3', 'co_mean_mg_m3', '_changed_at']) }}
