"""Per-key quotas and rate limits, and the portal's early warnings on access.

Each request is counted against its client: the API key it presents (``Authorization`` / ``X-CKAN-API-Key``),
else its address. A client over its per-minute limit, or a key over its daily quota, is answered 429 with
``Retry-After``; every counted response carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and
``X-RateLimit-Reset`` (seconds). Counters live in the process (a worker counts its own requests).

Early warnings (alerts, sudata.monitoring): a key whose reads in the current hour are far above its hourly
baseline in the access log, and a client collecting many 403s in a few minutes.

| variable | default | meaning |
| --- | --- | --- |
| ``SUDATA_RATE_LIMIT_KEY`` | 3000 | requests per minute per key (0: no limit) |
| ``SUDATA_RATE_LIMIT_ANON`` | 60000 | requests per minute per address without a key (0: no limit) |
| ``SUDATA_KEY_DAILY_QUOTA`` | 200000 | requests per UTC day per key (0: no quota) |
| ``SUDATA_ALERT_KEY_SPIKE_FACTOR`` · ``_MIN`` | 10 · 500 | reads in an hour above factor × the key's median hour and above min |
| ``SUDATA_ALERT_DENIED`` | 50 | 403 answers to one client within ``SUDATA_ALERT_DENIED_WINDOW`` seconds (600) |
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
from collections import deque
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .access import AccessStore, hash_key
from .auth import request_token

EXEMPT = ("/healthz", "/metrics", "/static/")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


@dataclass(frozen=True)
class Limits:
    per_minute_key: int = 3000
    per_minute_anon: int = 60000
    daily_quota_key: int = 200000
    spike_factor: float = 10.0
    spike_min: int = 500
    denied_max: int = 50
    denied_window: int = 600

    @classmethod
    def from_env(cls) -> "Limits":
        return cls(
            per_minute_key=_env_int("SUDATA_RATE_LIMIT_KEY", cls.per_minute_key),
            per_minute_anon=_env_int("SUDATA_RATE_LIMIT_ANON", cls.per_minute_anon),
            daily_quota_key=_env_int("SUDATA_KEY_DAILY_QUOTA", cls.daily_quota_key),
            spike_factor=float(os.environ.get("SUDATA_ALERT_KEY_SPIKE_FACTOR") or cls.spike_factor),
            spike_min=_env_int("SUDATA_ALERT_KEY_SPIKE_MIN", cls.spike_min),
            denied_max=_env_int("SUDATA_ALERT_DENIED", cls.denied_max),
            denied_window=_env_int("SUDATA_ALERT_DENIED_WINDOW", cls.denied_window),
        )


class _Window:
    """A fixed window counter: how many in the current window, and when it resets."""

    __slots__ = ("start", "count")

    def __init__(self, start: float):
        self.start, self.count = start, 0


class Counters:
    def __init__(self, limits: Limits):
        self.limits = limits
        self.minute: dict[str, _Window] = {}
        self.day: dict[str, _Window] = {}
        self.lock = threading.Lock()

    @staticmethod
    def _tick(table: dict[str, _Window], client: str, now: float, length: float) -> _Window:
        w = table.get(client)
        start = now - (now % length)
        if w is None or w.start != start:
            if len(table) > 100_000:  # forget old windows of clients long gone
                table.clear()
            w = table[client] = _Window(start)
        w.count += 1
        return w

    def take(self, client: str, keyed: bool, now: float) -> tuple[bool, dict[str, str], int]:
        """(allowed, headers, retry_after seconds) for one more request of ``client``."""
        limit = self.limits.per_minute_key if keyed else self.limits.per_minute_anon
        quota = self.limits.daily_quota_key if keyed else 0
        with self.lock:
            minute = self._tick(self.minute, client, now, 60) if limit else None
            day = self._tick(self.day, client, now, 86400) if quota else None
        checks = [(w, n, size) for w, n, size in ((minute, limit, 60), (day, quota, 86400)) if w is not None]
        if not checks:
            return True, {}, 0
        over = [(w, n, size) for w, n, size in checks if w.count > n]
        # the headers speak of the tightest window: the exceeded one, else the one with least left
        w, n, size = over[0] if over else min(checks, key=lambda c: c[1] - c[0].count)
        reset = max(1, int(w.start + size - now + 0.999))
        headers = {"x-ratelimit-limit": str(n), "x-ratelimit-remaining": str(max(0, n - w.count)),
                   "x-ratelimit-reset": str(reset)}
        if over:
            headers["retry-after"] = str(reset)
        return not over, headers, reset


class AccessWatch:
    """Notices a key reading far above its usual hours and a client collecting 403s; raises alerts."""

    def __init__(self, access: AccessStore, alerter_factory, limits: Limits):
        self.access, self.alerter_factory, self.limits = access, alerter_factory, limits
        self.hourly: dict[str, tuple[float, int]] = {}     # key hash → (hour start, reads)
        self.baselines: dict[str, tuple[float, float]] = {}  # key hash → (hour start, median reads per hour)
        self.denied: dict[str, deque] = {}
        self.lock = threading.Lock()

    def seen(self, client: str, token_hash: str | None, status: int, now: float) -> None:
        alerts = []
        with self.lock:
            if token_hash and status < 400:
                hour = now - now % 3600
                start, count = self.hourly.get(token_hash, (hour, 0))
                count = count + 1 if start == hour else 1
                self.hourly[token_hash] = (hour, count)
                threshold = max(self.limits.spike_min, self.limits.spike_factor * self._baseline(token_hash, hour))
                if count == int(threshold) + 1:
                    alerts.append(self._spike(token_hash, hour, count, threshold))
            if status == 403:
                q = self.denied.setdefault(client, deque())
                q.append(now)
                while q and q[0] < now - self.limits.denied_window:
                    q.popleft()
                if len(q) == self.limits.denied_max:
                    alerts.append(self._denied(client, token_hash, len(q), now))
        for alert in alerts:
            threading.Thread(target=self._raise, args=(alert,), daemon=True).start()

    def _raise(self, alert) -> None:
        try:
            self.alerter_factory().raise_alert(alert)
        except Exception:  # an alert channel's failure never breaks a read
            import logging

            logging.getLogger("portal").exception("could not raise alert %s", alert.key)

    def _baseline(self, token_hash: str, hour: float) -> float:
        cached = self.baselines.get(token_hash)
        if cached and cached[0] == hour:
            return cached[1]
        median = hourly_median(self.access, token_hash, hour)
        self.baselines[token_hash] = (hour, median)
        return median

    def _spike(self, token_hash: str, hour: float, count: int, threshold: float):
        from sudata.monitoring.alerts import Alert

        key = key_of(self.access, token_hash)
        who = f"key {key['id']} ({key['prefix']}…, {key['holder']}, {key['scope_type']}:{key['scope']})" if key \
            else "an unknown key"
        at = datetime.fromtimestamp(hour, timezone.utc).strftime("%Y-%m-%dT%H:00Z")
        return Alert(
            key=f"access_spike:{key['id'] if key else token_hash[:12]}:{at}", kind="access_spike", severity="warning",
            subject=f"key:{key['id']}" if key else None, title=f"{who} reads far above its usual",
            message=f"{who} made more than {int(threshold)} reads in the hour from {at} (its median hour in the last "
                    f"7 days: {self._baseline(token_hash, hour):.0f}). If the holder does not expect it, revoke the "
                    f"key: `sudata keys revoke {key['id'] if key else 'ID'}`; `sudata keys log` shows the reads.",
            details={"reads": count, "threshold": threshold, "hour": at},
        )

    def _denied(self, client: str, token_hash: str | None, count: int, now: float):
        from sudata.monitoring.alerts import Alert

        window = int(now - now % self.limits.denied_window)
        return Alert(
            key=f"access_denied:{client}:{window}", kind="access_denied", severity="warning", subject=client,
            title=f"{client}: {count} refused requests in {self.limits.denied_window // 60} minutes",
            message=f"{client} was refused (403) {count} times within {self.limits.denied_window} s: someone may be "
                    f"probing conditional datasets or trying keys. `sudata keys log` lists the refusals; block the "
                    f"address at the proxy if it goes on.",
            details={"client": client, "refused": count, "window_seconds": self.limits.denied_window},
        )


def hourly_median(access: AccessStore, token_hash: str, hour: float) -> float:
    """The key's median reads per hour over the 7 days before ``hour`` (hours without reads count as 0)."""
    since = datetime.fromtimestamp(hour, timezone.utc) - timedelta(days=7)
    until = datetime.fromtimestamp(hour, timezone.utc)
    with closing(access.connect()) as con:
        rows = con.execute(
            "select substr(l.at, 1, 13) as h, count(*) from access_log l join keys k on k.id = l.key_id"
            " where k.key_hash = ? and l.at >= ? and l.at < ? and l.status < 400 group by h",
            (token_hash, since.isoformat(timespec="seconds"), until.isoformat(timespec="seconds"))).fetchall()
    counts = [n for _h, n in rows] + [0] * (7 * 24 - len(rows))
    return float(statistics.median(counts))


def key_of(access: AccessStore, token_hash: str) -> dict | None:
    with closing(access.connect()) as con:
        r = con.execute("select id, prefix, holder, scope_type, scope from keys where key_hash = ?",
                        (token_hash,)).fetchone()
    return dict(r) if r else None


class RateLimit:
    """ASGI middleware: counts, limits and watches every request outside ``EXEMPT``."""

    def __init__(self, app, access: AccessStore, alerter_factory, limits: Limits | None = None):
        self.app = app
        self.limits = limits or Limits.from_env()
        self.counters = Counters(self.limits)
        self.watch = AccessWatch(access, alerter_factory, self.limits)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path", "").startswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or []}
        token = request_token(headers)
        token_hash = hash_key(token) if token else None
        client = f"key:{token_hash[:16]}" if token_hash else f"ip:{(scope.get('client') or ('?',))[0]}"
        now = time.time()
        allowed, limit_headers, retry = self.counters.take(client, token_hash is not None, now)
        extra = [(k.encode(), v.encode()) for k, v in limit_headers.items()]
        if not allowed:
            body = json.dumps({"success": False, "error": {
                "__type": "Rate Limit Error",
                "message": f"Rate Limit Error: too many requests from this {'key' if token_hash else 'address'}; "
                           f"retry in {retry} s"}}).encode()
            await send({"type": "http.response.start", "status": 429, "headers": [
                (b"content-type", b"application/json;charset=utf-8"), (b"content-length", str(len(body)).encode()),
                *extra]})
            await send({"type": "http.response.body", "body": body})
            return
        status = 500

        async def send_with_headers(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # an answer that already speaks of a tighter limit (an authorisation's daily quota) keeps it
                own = {k.lower() for k, _ in message.get("headers", [])}
                message = {**message, "headers": [*message.get("headers", []), *(h for h in extra if h[0] not in own)]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            self.watch.seen(client, token_hash, status, now)

