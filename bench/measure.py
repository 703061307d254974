"""Run one measured command in a subprocess: wall time, CPU time and peak memory of its process tree.

- wall: monotonic clock around the child, from spawn to exit.
- CPU: user + system time of the child and every descendant it waited for (``os.wait4`` rusage), so
  the dbt subprocess that dagster-dbt launches is counted.
- peak memory: the largest sum of RSS over the child's process tree, sampled every ``interval``
  seconds with psutil, and never below the largest single-process RSS the kernel recorded (ru_maxrss),
  so a short spike between two samples is not missed entirely.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil


@dataclass
class Measurement:
    label: str
    command: list[str]
    returncode: int
    wall_s: float
    cpu_user_s: float
    cpu_sys_s: float
    peak_tree_rss_mb: float
    max_process_rss_mb: float
    started_at: float                 # epoch seconds, just before spawning
    log: str = ""                     # stdout+stderr of the child
    extra: dict = field(default_factory=dict)

    @property
    def cpu_s(self) -> float:
        return self.cpu_user_s + self.cpu_sys_s

    @property
    def peak_rss_mb(self) -> float:
        return max(self.peak_tree_rss_mb, self.max_process_rss_mb)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(cpu_s=round(self.cpu_s, 3), peak_rss_mb=round(self.peak_rss_mb, 1),
                 cpu_utilisation=round(self.cpu_s / self.wall_s, 2) if self.wall_s else None)
        for k in ("wall_s", "cpu_user_s", "cpu_sys_s", "peak_tree_rss_mb", "max_process_rss_mb"):
            d[k] = round(d[k], 3)
        d["command"] = " ".join(self.command)
        return d


def _short_name(p: psutil.Process) -> str:
    """What a process of the tree is, for the memory breakdown: ``sudata run``, ``dbt build``, ``python -m x``."""
    try:
        args = p.cmdline()
    except psutil.Error:
        return "?"
    if not args:
        return "?"
    prog = Path(args[0]).name
    rest = args[1:]
    if prog.startswith("python") and rest:
        if rest[0] == "-m" and len(rest) > 1:
            return f"python -m {rest[1]}"
        if rest[0] == "-c":
            return "python -c"
        prog, rest = Path(rest[0]).name, rest[1:]  # a console script run through its interpreter
    sub = next((a for a in rest if not a.startswith("-")), "")
    return f"{prog} {sub}".strip()[:60]


class _TreeSampler(threading.Thread):
    def __init__(self, pid: int, interval: float):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.at_peak: list[tuple[str, int]] = []
        self.peak_at: float | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._halt.is_set():
            total = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            sizes = []
            for p in procs:
                try:
                    rss = p.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                sizes.append((p, rss))
            if total > self.peak:
                self.peak = total
                self.peak_at = time.time()
                self.at_peak = [(_short_name(p), rss) for p, rss in sorted(sizes, key=lambda x: -x[1])[:5]]
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()


def run_measured(label: str, command: list[str], *, env: dict | None = None, cwd: Path | None = None,
                 log_path: Path | None = None, interval: float = 0.2, ok_codes: tuple[int, ...] | None = (0,)) -> Measurement:
    """Run ``command`` to completion and measure it. Raises RuntimeError on an exit code not in ``ok_codes``
    (``None`` accepts any)."""
    log_path = Path(log_path) if log_path else None
    if log_path:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    out = open(log_path, "w+b") if log_path else subprocess.DEVNULL
    started_at = time.time()
    t0 = time.perf_counter()
    try:
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        sampler = _TreeSampler(proc.pid, interval)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        sampler.stop()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if log_path:
            out.close()
    text = log_path.read_text(encoding="utf-8", errors="replace") if log_path else ""
    m = Measurement(
        label=label, command=[str(c) for c in command], returncode=proc.returncode, wall_s=wall,
        cpu_user_s=usage.ru_utime, cpu_sys_s=usage.ru_stime,
        peak_tree_rss_mb=sampler.peak / 2**20, max_process_rss_mb=usage.ru_maxrss / 1024,  # ru_maxrss is in KiB
        started_at=started_at, log=text[-4000:],
        extra={"at_peak_mb": [[name, round(rss / 2**20, 1)] for name, rss in sampler.at_peak],
               "peak_at": sampler.peak_at},
    )
    if ok_codes is not None and proc.returncode not in ok_codes:
        raise RuntimeError(f"{label}: {' '.join(m.command)} exited with {proc.returncode}\n{text[-3000:]}")
    return m
