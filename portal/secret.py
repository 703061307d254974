"""The portal's signing secret (cursors, Su Online sessions and CSRF tokens).

``SUDATA_PORTAL_SECRET`` when set; otherwise a random secret generated once and kept beside the key
store (``$SUDATA_HOME/portal/secret``, mode 0600): the portal never writes into the published store.
Created by linking a finished file into place, so concurrent workers all end up with the same secret.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ENV = "SUDATA_PORTAL_SECRET"


def load_secret(directory: Path) -> bytes:
    configured = os.environ.get(ENV)
    if configured:
        return configured.encode("utf-8")
    directory = Path(directory)
    path = directory / "secret"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".secret.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # fails if another worker got there first: theirs wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip().encode("utf-8")
