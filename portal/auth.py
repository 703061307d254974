"""Keys for conditional datasets (有条件开放): who may read, and the access log of every read."""

from __future__ import annotations

from operation import downloads
from operation.store import CREDENTIAL_PREFIX, OperationStore, QuotaExceeded, day_start

from .access import AccessStore, Grant

from .catalog import Dataset
from .errors import NotAuthorized, QuotaExceeded as RateLimited


def request_token(headers) -> str | None:
    """The API key of a request: CKAN's ``Authorization`` header (a bare key; ``Bearer`` accepted)
    or the older ``X-CKAN-API-Key``."""
    for name in ("authorization", "x-ckan-api-key"):
        value = (headers.get(name) or "").strip()
        if value:
            scheme, _, rest = value.partition(" ")
            if rest and scheme.lower() in ("bearer", "token", "apikey"):
                value = rest.strip()
            return value or None
    return None


class Gate:
    def __init__(self, access: AccessStore, operation: OperationStore | None = None):
        self.access = access
        self.operation = operation

    def _application_grant(self, dataset: Dataset, token: str, action: str, rows: int | None, counted: bool) -> Grant:
        """An approved application's credential (用数申请): a download-mode one opens the granted fields
        of the conditional datasets of its scope within its period, within its daily quota
        (``operation.downloads``); a zone credential never opens files or rows."""
        auth = self.operation.resolve(token) if self.operation else None
        grant = Grant(key_id=None, holder=auth.organisation, scope_type="application",
                      scope=f"application:{auth.application_id}") if auth else None
        if auth is None:
            reason = "the credential is unknown or revoked"
        elif auth.mode == "zone":
            reason = "a zone credential (授权运营专区) cannot download files or page rows: submit queries to the zone"
        elif auth.mode != "download":
            reason = f"a {auth.mode} credential cannot download files or page rows"
        elif not auth.valid:
            reason = auth.problem
        elif dataset.name not in auth.datasets:
            reason = "the application's scope does not include this dataset"
        else:
            return self._within_quota(auth, grant, dataset, action, rows if counted else None)
        self.access.log(grant, action, dataset.name, None, 403)
        raise NotAuthorized(f"Access denied: {dataset.name}: {reason}")

    def _within_quota(self, auth, grant: Grant, dataset: Dataset, action: str, rows: int | None) -> Grant:
        """The grant with its columns and quota headers; ``rows`` None: a request that takes nothing
        (HEAD), neither counted nor refused."""
        columns = downloads.granted_columns(auth, {"name": dataset.name, "columns": dataset.columns})
        every = [c["name"] for c in dataset.columns]
        allowance = hold = None
        if rows is not None and auth.quota_per_day is not None:
            try:
                allowance, hold = self.access.hold(grant.scope, day_start(), rows,
                                                   lambda used, used_rows: downloads.take(auth, used, used_rows, rows))
            except QuotaExceeded as e:
                self.access.log(grant, action, dataset.name, None, 429)
                raise RateLimited(f"{dataset.name}: {e}", headers=e.headers) from None
        return Grant(grant.key_id, grant.holder, grant.scope_type, grant.scope,
                     columns=None if columns == every else tuple(columns),
                     headers=tuple(allowance.headers.items()) if allowance else (), hold=hold)

    def admit(self, dataset: Dataset, token: str | None, action: str, rows: int = 0,
              counted: bool = True) -> Grant | None:
        """The grant that opens ``dataset`` for a request that may read ``rows`` rows (``counted``
        False: one that reads none, a HEAD); ``None`` for
        unconditional data. A refused attempt on a conditional dataset is logged and raises CKAN's
        Authorization Error (or its Rate Limit Error, over an authorisation's daily quota)."""
        if not dataset.conditional:
            return None
        if token and token.startswith(CREDENTIAL_PREFIX):
            return self._application_grant(dataset, token, action, rows, counted)
        grant = self.access.resolve(token) if token else None
        if grant is not None and grant.scope_type == "dataset" and grant.scope == dataset.name:
            return grant
        self.access.log(grant, action, dataset.name, None, 403)
        if token is None:
            reason = "this dataset is open on condition (有条件开放): send a key scoped to it in the Authorization header"
        elif grant is None:
            reason = "the key is unknown, revoked or expired"
        else:
            reason = "the key is not scoped to this dataset"
        raise NotAuthorized(f"Access denied: {dataset.name}: {reason}")

    def record(self, grant: Grant | None, action: str, dataset: Dataset, rows: int | None, status: int = 200) -> None:
        if dataset.conditional:
            self.access.log(grant, action, dataset.name, rows, status)
