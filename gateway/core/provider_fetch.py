"""The one rule for fetching a reporter's media from a provider (issue 16, finding 3).

A provider's webhook names where its media is (Twilio's `MediaUrl0`, a
`RecordingUrl`, a Telegram `file_path`). That text comes from outside, so a
fetcher never trusts it with the account's credentials:

- Credentials go only to the configured API origin (scheme, host and port of
  TWILIO_API_BASE_URL or TELEGRAM_API_BASE_URL): a URL anywhere else is not
  fetched at all, with or without credentials (`ForeignMediaUrl`, final).
  Not fetching it without credentials either is deliberate: the worker sits
  inside the deployment's network, and fetching a URL an outsider chose is a
  way to reach what only the worker can reach (SSRF); a provider's genuine
  media always starts at its API.
- Redirects are followed by hand, at most `MAX_REDIRECTS`, never with
  credentials (Twilio answers a media or recording URL with a redirect to a
  short-lived pre-signed URL that needs none), and never from https down to
  http (`RedirectRefused`, final).
- At most `limit` bytes are read (`MediaTooLarge`, final), within a total
  time (`FetchTooSlow`, retried).

Every provider fetcher goes through `ProviderOrigin.fetch`; a new provider's
fetcher must too (channels/README.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from gateway.core import tls

MAX_REDIRECTS = 3
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
TOTAL_SECONDS = 120.0  # a provider that drips bytes is given up on, and tried again later
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class MediaTooLarge(Exception):
    """The provider's file is over the size limit: given up, not retried."""


class ForeignMediaUrl(LookupError):
    """The media URL is not at the configured provider origin: never fetched, not retried."""


class RedirectRefused(LookupError):
    """A redirect to http from https, without a target, or one too many: not retried."""


class FetchTooSlow(Exception):
    """The provider took longer than TOTAL_SECONDS for one file: retried later."""


def origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL without user info; None for anything else."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # a bad port or an unclosed IPv6 bracket
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    if "\\" in url or any(ord(c) < 33 for c in url.strip()):
        return None  # parsers disagree on these; nothing a provider sends
    return scheme, parts.hostname.lower().rstrip("."), port or DEFAULT_PORTS[scheme]


@dataclass(frozen=True)
class ProviderOrigin:
    """Where one provider's media may be fetched, and the credentials that go only there.

    Args:
        base_url: the configured API root (its scheme, host and port are the origin).
        auth: HTTP basic credentials for requests to the origin, or None.
    """

    base_url: str
    auth: tuple[str, str] | None = None

    def owns(self, url: str) -> bool:
        """Whether `url` is at this provider's configured origin."""
        ours = origin_of(self.base_url)
        return ours is not None and origin_of(url) == ours

    def fetch(self, url: str, limit: int) -> bytes:
        """GET `url` by the rules of this module.

        Raises:
            ForeignMediaUrl, RedirectRefused, MediaTooLarge: given up for good.
            httpx.HTTPError, FetchTooSlow: the provider away or slow; retried.
        """
        if not self.owns(url):
            raise ForeignMediaUrl("media URL outside the provider's configured API origin")
        deadline = time.monotonic() + TOTAL_SECONDS
        auth: tuple[str, str] | None = self.auth
        with httpx.Client(
            timeout=HTTP_TIMEOUT, follow_redirects=False, verify=tls.context()
        ) as http:
            for _ in range(MAX_REDIRECTS + 1):
                with http.stream("GET", url, auth=auth) as response:
                    if response.status_code not in REDIRECTS:
                        response.raise_for_status()
                        return _read(response, limit, deadline)
                    url = next_hop(url, response.headers.get("Location"))
                auth = None  # a redirect never carries the account's credentials
        raise RedirectRefused("too many redirects")


def next_hop(current: str, location: str | None) -> str:
    """Where a redirect from `current` leads; RedirectRefused for a downgrade or a non-URL."""
    if not location:
        raise RedirectRefused("redirect without a Location")
    target = urljoin(current, location.strip())
    hop, here = origin_of(target), origin_of(current)
    if hop is None or here is None:
        raise RedirectRefused("redirect to something that is not an http(s) URL")
    if here[0] == "https" and hop[0] != "https":
        raise RedirectRefused("redirect from https to http")
    return target


def _read(response: httpx.Response, limit: int, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise MediaTooLarge()
    data = bytearray()
    for chunk in response.iter_bytes():
        data.extend(chunk)
        if len(data) > limit:
            raise MediaTooLarge()
        if time.monotonic() > deadline:
            raise FetchTooSlow()
    return bytes(data)
