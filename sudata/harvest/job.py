"""One harvest job: gather what the source holds (or what changed since the last job), import each
valid record, withdraw the entries the source no longer lists, and record the job's report.

Gathering is the only part that talks to the source; it runs within the job's timeout. A job that times
out or cannot read its source imports nothing and withdraws nothing: an incomplete listing must never
withdraw entries. An invalid record is reported in the job's errors and the job goes on.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass, field

from sudata.settings import Paths
from sudata.store import PublishedStore

from . import ckan, dcat
from .http import Deadline, HarvestTimeout, SourceError
from .records import InvalidRecord, Record, checked, entry_name
from .sources import HarvestSource
from .store import HarvestStore


@dataclass
class JobReport:
    source: str
    job_id: int
    status: str                                  # finished | timed_out | failed
    counts: dict = field(default_factory=dict)   # gathered, added, updated, unchanged, withdrawn
    errors: list[dict] = field(default_factory=list)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "finished"


def _gather(source: HarvestSource, hs: HarvestStore, deadline: Deadline, known: dict):
    """(records or InvalidRecord per remote id, the remote ids still at the source or None when only a
    listing of names is known, the remote names still at the source or None)."""
    if source.kind == "ckan":
        since = None
        if hs.last_finished(source.id):
            stamps = [k["remote_modified"] for k in known.values() if k["remote_modified"]]
            since = max(stamps) if stamps else None
        packages, names = ckan.gather(source, deadline, since)
        out = []
        for pkg in packages:
            try:
                out.append((str(pkg.get("id") or ""), ckan.record(source, pkg)))
            except InvalidRecord as exc:
                out.append((str(pkg.get("id") or ""), exc))
        return out, None, names
    if source.kind == "dcat":
        items = list(dcat.dcat_records(dcat.gather_dcat(source, deadline)))
    else:
        items = list(dcat.datajson_records(dcat.gather_datajson(source, deadline)))
    return items, {rid for rid, _ in items if rid}, None


def run_job(source: HarvestSource, paths: Paths) -> JobReport:
    hs = HarvestStore(PublishedStore(paths.published))
    job_id = hs.start_job(source.id)
    deadline = Deadline(source.timeout_s, source.request_timeout_s)
    known = hs.known(source.id)
    counts = {"gathered": 0, "added": 0, "updated": 0, "unchanged": 0, "withdrawn": 0}
    errors: list[dict] = []
    try:
        items, present_ids, present_names = _gather(source, hs, deadline, known)
    except HarvestTimeout as exc:
        msg = f"{exc} ({source.timeout_s:.0f} s): nothing imported, nothing withdrawn"
        hs.finish_job(job_id, "timed_out", counts, errors, msg)
        return JobReport(source.id, job_id, "timed_out", counts, errors, msg)
    except SourceError as exc:
        msg = f"source not read: {exc}"
        hs.finish_job(job_id, "failed", counts, errors, msg)
        return JobReport(source.id, job_id, "failed", counts, errors, msg)

    counts["gathered"] = len(items)
    valid: list[Record] = []
    for remote_id, item in items:
        try:
            if isinstance(item, InvalidRecord):
                raise item
            valid.append(checked(item))
        except InvalidRecord as exc:
            errors.append({"remote_id": remote_id, "reason": str(exc)})
    names_taken: dict[str, str] = {}
    with closing(hs.connect()) as con:
        con.execute("begin immediate")
        for record in valid:
            before = known.get(record.remote_id)
            if before and before["state"] == "active" and before["remote_modified"] == record.modified \
                    and record.modified is not None:
                counts["unchanged"] += 1
                continue
            name = entry_name(source.id, record)
            if names_taken.setdefault(name, record.remote_id) != record.remote_id:
                errors.append({"remote_id": record.remote_id, "reason": f"name {name} taken by another record"})
                continue
            hs.upsert(con, source=source.id, organization=(source.organization, source.organization_title),
                      name=name, record=record, job_id=job_id)
            counts["added" if before is None else "updated"] += 1
        if present_ids is not None:
            gone = [rid for rid, k in known.items() if k["state"] == "active" and rid not in present_ids]
        else:
            seen = {r.remote_id for r in valid}
            gone = [rid for rid, k in known.items() if k["state"] == "active" and rid not in seen
                    and k["remote_name"] not in present_names]
        hs.withdraw(con, source.id, gone, job_id)
        counts["withdrawn"] = len(gone)
        con.execute("commit")
    hs.finish_job(job_id, "finished", counts, errors)
    return JobReport(source.id, job_id, "finished", counts, errors)
