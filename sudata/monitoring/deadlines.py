"""Delivery deadlines: which drop of a source is due by now, and whether it landed in time.

A source's ``delivery`` (registry) says how often it delivers and by when: the drop of a date is due at
``deadline`` (Asia/Shanghai) ``days_after`` days later. The landing zone is the witness: a drop is
delivered when its folder holds a file of the source's pattern, at the time its last file was written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sudata.ingest.zone import scan_drop
from sudata.registry import Delivery, Source
from sudata.settings import TIMEZONE, Paths

ZONE = ZoneInfo(TIMEZONE)
# 实时 sources still land one folder per day; 不定期 ones have no deadline.
_UNCHECKED = {"不定期"}


@dataclass(frozen=True)
class DeliveryStatus:
    source: str
    drop_date: str | None       # the latest drop date due by now (None: nothing due yet, or irregular)
    due_at: datetime | None
    status: str                 # on_time | late | missing | not_due | unchecked
    delivered_at: datetime | None = None
    files: int = 0

    @property
    def ok(self) -> bool:
        return self.status in ("on_time", "not_due", "unchecked")

    def describe(self, source: Source) -> str:
        who = f"{source.title} ({source.id}) from {source.department.name}"
        due = self.due_at.strftime("%Y-%m-%d %H:%M") if self.due_at else ""
        where = f"$SUDATA_RAW/{source.folder}/{self.drop_date}/"
        if self.status == "missing":
            return (f"The {self.drop_date} drop of {who} was due by {due} ({TIMEZONE}) and has not been delivered: "
                    f"nothing matching {source.files} in {where}. Ask the department to deliver it; the nightly run "
                    f"lands it as soon as it arrives.")
        if self.status == "late":
            return (f"The {self.drop_date} drop of {who} arrived late: due by {due}, delivered "
                    f"{self.delivered_at.astimezone(ZONE):%Y-%m-%d %H:%M} ({self.files} file(s) in {where}).")
        if self.status == "on_time":
            return f"The {self.drop_date} drop of {who} was delivered on time (due by {due})."
        if self.status == "not_due":
            return f"No drop of {who} is due yet."
        return f"{who} delivers irregularly: no deadline."

    def to_dict(self) -> dict:
        return {"source": self.source, "drop_date": self.drop_date, "status": self.status,
                "due_at": self.due_at.isoformat() if self.due_at else None,
                "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None, "files": self.files}


def is_drop_date(delivery: Delivery, day: date) -> bool:
    """Whether the source delivers a drop for ``day`` at its frequency."""
    f = delivery.frequency
    if f in ("每日", "实时"):
        return True
    if f == "每周":
        return day.isoweekday() == delivery.day
    if f == "每月":
        return day.day == delivery.day
    if f == "每季度":
        return day.day == delivery.day and day.month in (1, 4, 7, 10)
    if f == "每年":
        return day.day == delivery.day and day.month == 1
    return False


def due_at(delivery: Delivery, drop_date: date) -> datetime:
    hour, minute = (int(x) for x in delivery.deadline.split(":"))
    return datetime.combine(drop_date + timedelta(days=delivery.days_after), time(hour, minute), ZONE)


def latest_due(delivery: Delivery, now: datetime) -> date | None:
    """The latest drop date whose deadline has passed at ``now`` (searching back a year and a bit)."""
    day = (now.astimezone(ZONE) - timedelta(days=delivery.days_after)).date()
    for _ in range(400):
        if is_drop_date(delivery, day) and due_at(delivery, day) <= now:
            return day
        day -= timedelta(days=1)
    return None


def delivery_status(paths: Paths, source: Source, now: datetime | None = None) -> DeliveryStatus:
    now = now or datetime.now(ZONE)
    delivery = source.delivery
    if delivery is None or delivery.frequency in _UNCHECKED:
        return DeliveryStatus(source.id, None, None, "unchecked")
    day = latest_due(delivery, now)
    if day is None:
        return DeliveryStatus(source.id, None, None, "not_due")
    drop, deadline = day.isoformat(), due_at(delivery, day)
    files, _refused = scan_drop(paths, source, drop)
    if not files:
        return DeliveryStatus(source.id, drop, deadline, "missing")
    delivered = datetime.fromtimestamp(max(f.stat().st_mtime for f in files), ZONE)
    status = "late" if delivered > deadline else "on_time"
    return DeliveryStatus(source.id, drop, deadline, status, delivered_at=delivered, files=len(files))
