{#
    air_quality_hourly: the valid rows (reject_reason is null; the others are in int_quarantined_rows), one per
    station_code, observed_at: a later delivery of the same key is a correction and wins (latest _drop_date,
    then the highest _row_number).
    Ready to become incremental on _drop_date: set materialized='incremental' and each run processes
    only the drops it has not seen, merging on the unique key.
#}

{{ config(unique_key=['station_code', 'observed_at']) }}

with

staged as (

    select * from {{ ref('stg_air_quality_hourly') }}
    where reject_reason is null
    {% if is_incremental() %}
        and _drop_date > (select max(_drop_date) from {{ this }})
    {% endif %}

),

located as (

    select
        staged.station_code,
        staged.station_name,
        staged.district_code,
        staged.observed_at,
        staged.observation_date,
        staged.aqi,
        staged.pm25_ug_m3,
        staged.pm10_ug_m3,
        staged.o3_ug_m3,
        staged.no2_ug_m3,
        staged.so2_ug_m3,
        staged.co_mg_m3,
        staged._source_file,
        staged._drop_date,
        staged._row_number
    from staged

),

latest as (

    {{ sudata.latest_correction('located', ['station_code', 'observed_at']) }}

),

final as (

    select
        station_code,
        station_name,
        district_code,
        observed_at,
        observation_date,
        aqi,
        pm25_ug_m3,
        pm10_ug_m3,
        o3_ug_m3,
        no2_ug_m3,
        so2_ug_m3,
        co_mg_m3,
        _source_file,
        _drop_date,
        _row_number
    from latest

)

select * from final
