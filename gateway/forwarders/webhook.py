"""The signed webhook to the case-tracking system (contract: docs/contract.md).

`POST CASE_TRACKER_URL` with the case as JSON (docs/case.schema.json) and
`Idempotency-Key`, `X-Gateway-Timestamp`, `X-Gateway-Signature: sha256=<hex
HMAC-SHA256(secret, timestamp + "." + body)>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

import httpx

from gateway.core import tls
from gateway.core.config import ConfigError, Settings
from gateway.forwarders.base import Delivery, Outcome, Result, classify_http

TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, max_skew: int = 300) -> bool:
    """Check a request signed by `sign` (used for the tracker's callbacks)."""
    try:
        skew = abs(time.time() - int(timestamp))
    except ValueError:
        return False
    return skew <= max_skew and hmac.compare_digest(sign(secret, timestamp, body), signature)


def signed_headers(secret: str, body: bytes, idempotency_key: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        "Idempotency-Key": idempotency_key,
        "X-Gateway-Timestamp": timestamp,
        "X-Gateway-Signature": sign(secret, timestamp, body),
        "User-Agent": "complaint-gateway",
    }


@dataclass
class WebhookForwarder:
    url: str
    secret: str
    status_url: str
    name: str = "webhook"

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookForwarder:
        if not settings.case_tracker_url:
            raise ConfigError("CASE_TRACKER_URL is not set but FORWARDERS includes webhook")
        if not settings.case_tracker_secret:
            raise ConfigError("CASE_TRACKER_SECRET is not set but FORWARDERS includes webhook")
        status_url = settings.get("CASE_TRACKER_STATUS_URL") or settings.case_tracker_url
        return cls(
            url=settings.case_tracker_url,
            secret=settings.case_tracker_secret,
            status_url=status_url,
        )

    def deliver(self, delivery: Delivery) -> Result:
        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
        url = self.url if delivery.kind == "case" else self.status_url
        try:
            response = httpx.post(
                url,
                content=body,
                headers=signed_headers(self.secret, body, delivery.idempotency_key),
                timeout=TIMEOUT,
                verify=tls.context(),
            )
        except httpx.HTTPError as exc:
            return Result(Outcome.RETRY, None, f"{type(exc).__name__}: network error")
        outcome = classify_http(response.status_code)
        error = None if outcome is Outcome.DELIVERED else f"HTTP {response.status_code}"
        return Result(outcome, response.status_code, error)
