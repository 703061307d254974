import dagster as dg

from orchestration.jobs import nightly_job

# 02:00 Asia/Shanghai (the partitions' timezone), for the drop date that just ended.
nightly_schedule = dg.build_schedule_from_partitioned_job(
    nightly_job,
    hour_of_day=2,
    minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
