"""Signed tokens: a JSON payload and its HMAC-SHA256 under the portal's secret, URL-safe.

Clients can read a token but not forge or alter one: :meth:`Signer.loads` refuses any token whose
signature does not match (``BadSignature``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json


class BadSignature(ValueError):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: bytes, purpose: str):
        # one derived key per purpose, so a token made for one use is refused by another
        self._key = hmac.new(secret, purpose.encode("utf-8"), hashlib.sha256).digest()

    def sign(self, data: bytes) -> str:
        return _b64(hmac.new(self._key, data, hashlib.sha256).digest())

    def dumps(self, payload) -> str:
        raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return _b64(raw) + "." + self.sign(raw)

    def loads(self, token: str):
        if not isinstance(token, str) or token.count(".") != 1:
            raise BadSignature("malformed token")
        body, sig = token.split(".")
        try:
            raw = _unb64(body)
        except ValueError:
            raise BadSignature("malformed token") from None
        if not hmac.compare_digest(self.sign(raw), sig):
            raise BadSignature("signature does not match")
        return json.loads(raw)
