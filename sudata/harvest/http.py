"""Reading a source over HTTP (or from a local file) within the job's deadline."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

USER_AGENT = "sudata-harvest/1 (+CKAN-compatible harvester)"


class HarvestTimeout(RuntimeError):
    """The job ran past its timeout."""


class SourceError(RuntimeError):
    """The source could not be read (unreachable, an HTTP error, not the expected format)."""


class Deadline:
    def __init__(self, seconds: float, request_timeout: float):
        self.end = time.monotonic() + seconds
        self.request_timeout = request_timeout

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise HarvestTimeout("the harvest job ran past its timeout")
        return left

    def get(self, url: str, accept: str = "application/json") -> tuple[bytes, str]:
        """The body and media type of ``url`` (an http(s) URL, or a path for a local document)."""
        left = self.remaining()
        timeout = min(left, self.request_timeout)
        if not url.startswith(("http://", "https://")):
            try:
                return Path(url.removeprefix("file://")).read_bytes(), ""
            except OSError as exc:
                raise SourceError(f"{url}: {exc}") from exc
        req = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.read(), (resp.headers.get_content_type() or "")
        except TimeoutError as exc:
            if timeout >= left:  # it was waiting on the job's own deadline
                raise HarvestTimeout("the harvest job ran past its timeout") from exc
            raise SourceError(f"{url}: no answer within {timeout:.0f} s") from exc
        except urllib.error.HTTPError as exc:
            raise SourceError(f"{url}: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            if isinstance(getattr(exc, "reason", None), TimeoutError) and timeout >= left:
                raise HarvestTimeout("the harvest job ran past its timeout") from exc
            raise SourceError(f"{url}: {getattr(exc, 'reason', exc)}") from exc

    def get_json(self, url: str):
        body, _ = self.get(url)
        try:
            return json.loads(body)
        except ValueError as exc:
            raise SourceError(f"{url}: not JSON ({exc})") from exc
