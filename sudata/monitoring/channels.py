"""Where alerts go: the channels declared in ``alerts.yml`` (a webhook JSON POST, e-mail over SMTP).

The file is ``$SUDATA_ALERTS`` or ``$SUDATA_HOME/alerts.yml``; without it alerts are stored and listed
(``sudata alerts``) but sent nowhere. ``${VAR}`` in a value is read from the environment (keep secrets there).

```yaml
dagster_url: http://dagster.internal:3000     # links to runs; default $SUDATA_DAGSTER_URL or 127.0.0.1:3000
channels:
  - {name: ops, type: webhook, url: "https://hooks.example/sudata", headers: {Authorization: "Bearer ${HOOK_TOKEN}"}}
  - name: duty
    type: email
    host: smtp.example            # port 25 by default; starttls: true, username, password for an authenticated relay
    sender: sudata@example
    to: [duty@example]
    kinds: [late_drop, missing_drop, run_failed, blocked_dataset]   # optional filter
    min_severity: warning                                           # optional: info | warning | error
```
"""

from __future__ import annotations

import json
import os
import smtplib
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import yaml

from sudata.monitoring.alerts import KINDS, SEVERITIES, Alert, AlertStore
from sudata.settings import Paths

DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000"
TIMEOUT_SECONDS = 10


class AlertConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Channel:
    name: str
    type: str                                  # webhook | email
    options: dict = field(default_factory=dict)
    kinds: tuple[str, ...] = ()                # empty: every kind
    min_severity: str = "info"

    def wants(self, alert: Alert) -> bool:
        return ((not self.kinds or alert.kind in self.kinds)
                and SEVERITIES.index(alert.severity) >= SEVERITIES.index(self.min_severity))

    def send(self, alert: Alert) -> None:
        if self.type == "webhook":
            _post_webhook(self.options, alert)
        else:
            _send_email(self.options, alert)


@dataclass(frozen=True)
class AlertConfig:
    dagster_url: str
    channels: tuple[Channel, ...] = ()

    def run_link(self, run_id: str | None) -> str | None:
        return f"{self.dagster_url.rstrip('/')}/runs/{run_id}" if run_id else None


def config_path(paths: Paths) -> Path:
    return Path(os.environ.get("SUDATA_ALERTS") or paths.home / "alerts.yml")


def load_config(paths: Paths) -> AlertConfig:
    path = config_path(paths)
    doc = {}
    if path.exists():
        try:
            doc = yaml.safe_load(os.path.expandvars(path.read_text(encoding="utf-8"))) or {}
        except yaml.YAMLError as exc:
            raise AlertConfigError(f"{path}: not valid YAML: {exc}") from exc
    url = doc.get("dagster_url") or os.environ.get("SUDATA_DAGSTER_URL") or DEFAULT_DAGSTER_URL
    channels = [_parse_channel(c, path, i) for i, c in enumerate(doc.get("channels") or [])]
    if len({c.name for c in channels}) != len(channels):
        raise AlertConfigError(f"{path}: channel names must be unique")
    return AlertConfig(dagster_url=str(url), channels=tuple(channels))


_REQUIRED = {"webhook": ("url",), "email": ("host", "sender", "to")}


def _parse_channel(raw: dict, path: Path, index: int) -> Channel:
    where = f"{path}: channels[{index}]"
    if not isinstance(raw, dict):
        raise AlertConfigError(f"{where}: expected a mapping with name and type")
    type_ = raw.get("type")
    if type_ not in _REQUIRED:
        raise AlertConfigError(f"{where}: type {type_!r} is not one of {sorted(_REQUIRED)}")
    missing = [k for k in ("name", *_REQUIRED[type_]) if not raw.get(k)]
    if missing:
        raise AlertConfigError(f"{where}: a {type_} channel needs {', '.join(missing)}")
    kinds = tuple(raw.get("kinds") or ())
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise AlertConfigError(f"{where}: unknown kinds {unknown} (known: {', '.join(KINDS)})")
    severity = raw.get("min_severity", "info")
    if severity not in SEVERITIES:
        raise AlertConfigError(f"{where}: min_severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    options = {k: v for k, v in raw.items() if k not in ("name", "type", "kinds", "min_severity")}
    if type_ == "email" and isinstance(options["to"], str):
        options["to"] = [options["to"]]
    return Channel(name=str(raw["name"]), type=type_, options=options, kinds=kinds, min_severity=severity)


def _post_webhook(options: dict, alert: Alert) -> None:
    body = json.dumps({"source": "sudata", **alert.to_dict()}, ensure_ascii=False, default=str).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", **{str(k): str(v) for k, v in
                                                                     (options.get("headers") or {}).items()}}
    request = urllib.request.Request(options["url"], data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=options.get("timeout", TIMEOUT_SECONDS)) as response:
        if not 200 <= response.status < 300:
            raise OSError(f"webhook answered {response.status}")


def _send_email(options: dict, alert: Alert) -> None:
    msg = EmailMessage()
    msg["Subject"] = f"[sudata {alert.severity}] {alert.title}"
    msg["From"] = options["sender"]
    msg["To"] = ", ".join(options["to"])
    msg["X-Sudata-Alert-Key"] = alert.key
    msg.set_content(alert.message + (f"\n\nRun: {alert.link}" if alert.link else "") + f"\n\nAlert key: {alert.key}\n")
    with smtplib.SMTP(options["host"], int(options.get("port", 25)), timeout=options.get("timeout", TIMEOUT_SECONDS)) as smtp:
        if options.get("starttls"):
            smtp.starttls()
        if options.get("username"):
            smtp.login(options["username"], options.get("password", ""))
        smtp.send_message(msg)


class Alerter:
    """Raises alerts: stores each key once and sends it through every channel that wants it, once."""

    def __init__(self, paths: Paths, config: AlertConfig | None = None):
        self.store = AlertStore(paths.alerts)
        self.config = config or load_config(paths)

    def run_link(self, run_id: str | None) -> str | None:
        return self.config.run_link(run_id)

    def raise_alert(self, alert: Alert) -> bool:
        """True when the alert is new. Deliveries that failed before are retried, sent ones never repeated."""
        new = self.store.record(alert)
        if new or alert.key in self.store.pending():
            self._deliver(alert)
        return new

    def _deliver(self, alert: Alert) -> None:
        for channel in self.config.channels:
            if not channel.wants(alert) or self.store.delivered(alert.key, channel.name):
                continue
            try:
                channel.send(alert)
            except (OSError, smtplib.SMTPException) as exc:
                self.store.record_delivery(alert.key, channel.name, f"{type(exc).__name__}: {exc}")
            else:
                self.store.record_delivery(alert.key, channel.name, None)
