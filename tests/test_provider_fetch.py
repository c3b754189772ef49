"""gateway.core.provider_fetch:

Credentials only to the configured origin, redirects without them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.core.provider_fetch import (
    ForeignMediaUrl,
    ProviderOrigin,
    RedirectRefused,
    next_hop,
    origin_of,
)
from gateway.work.media_fetch import MediaTooLarge
from tests.support import providers
from tests.support.providers import ProviderAPI

BASE = "https://api.twilio.com"


@pytest.mark.parametrize(
    ("url", "owned"),
    [
        ("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", True),
        ("https://API.Twilio.com./x", True),
        ("https://api.twilio.com:443/x", True),
        ("http://api.twilio.com/x", False),  # another scheme is another origin
        ("https://api.twilio.com:8443/x", False),
        ("https://api.twilio.com.evil.test/x", False),
        ("https://evil.test/api.twilio.com/x", False),
        ("https://api.twilio.com@evil.test/x", False),  # user info: the host is evil.test
        ("https://user:pw@api.twilio.com/x", False),
        ("https://evil.test\\@api.twilio.com/x", False),
        ("https://api.twilio.com\t.evil.test/x", False),
        ("//api.twilio.com/x", False),
        ("file:///etc/passwd", False),
        ("/etc/passwd", False),
        ("https://[::1/x", False),
        ("https://api.twilio.com:99999/x", False),
        ("", False),
    ],
)
def test_only_the_configured_origin_is_owned(url: str, owned: bool) -> None:
    assert ProviderOrigin(BASE).owns(url) is owned


@pytest.mark.parametrize(
    ("current", "location", "expected"),
    [
        (BASE + "/m/ME1", "https://s3.example.test/x?sig=1", "https://s3.example.test/x?sig=1"),
        (BASE + "/m/ME1", "/m/ME1.jpg", BASE + "/m/ME1.jpg"),
        (BASE + "/m/ME1", "http://s3.example.test/x", RedirectRefused),  # a downgrade
        (BASE + "/m/ME1", "file:///etc/passwd", RedirectRefused),
        (BASE + "/m/ME1", "", RedirectRefused),
        (BASE + "/m/ME1", None, RedirectRefused),
        ("http://127.0.0.1:9/m", "http://127.0.0.1:10/x", "http://127.0.0.1:10/x"),  # test servers
    ],
)
def test_redirects_never_downgrade(current: str, location: str | None, expected: object) -> None:
    if isinstance(expected, str):
        assert next_hop(current, location) == expected
    else:
        with pytest.raises(RedirectRefused):
            next_hop(current, location)


def test_origins_compare_scheme_host_and_port() -> None:
    assert origin_of("HTTPS://Api.Twilio.com/x") == ("https", "api.twilio.com", 443)
    assert origin_of("http://127.0.0.1:8080") == ("http", "127.0.0.1", 8080)
    assert origin_of("ftp://api.twilio.com/x") is None


@pytest.fixture
def elsewhere() -> Iterator[ProviderAPI]:
    server = ProviderAPI().start()
    yield server
    server.stop()


def account(api: ProviderAPI) -> ProviderOrigin:
    return ProviderOrigin(api.url, (providers.TWILIO_SID, providers.TWILIO_TOKEN))


def test_credentials_reach_the_origin_and_no_redirect_target(provider_api, elsewhere) -> None:  # type: ignore[no-untyped-def]
    provider_api.media["/media/ME1"] = b"own"
    provider_api.redirects["/media/ME2"] = elsewhere.url + "/signed/ME2?sig=1"
    elsewhere.public_media["/signed/ME2"] = b"signed"
    assert account(provider_api).fetch(provider_api.url + "/media/ME1", 100) == b"own"
    assert account(provider_api).fetch(provider_api.url + "/media/ME2", 100) == b"signed"
    assert all(c.headers.get("authorization") for c in provider_api.calls)
    [hop] = elsewhere.calls
    assert "authorization" not in hop.headers and hop.query == {"sig": "1"}


@pytest.mark.parametrize(
    "url",
    ["{other}/media/ME1", "{own}@{other_host}/media/ME1", "{other}/media/ME1#{own}"],
    ids=["another port", "user info", "fragment"],
)
def test_another_host_gets_no_request_at_all(provider_api, elsewhere, url: str) -> None:  # type: ignore[no-untyped-def]
    elsewhere.public_media["/media/ME1"] = b"x"
    target = url.format(
        other=elsewhere.url, own=provider_api.url, other_host=elsewhere.url.split("//")[1]
    )
    with pytest.raises(ForeignMediaUrl):
        account(provider_api).fetch(target, 100)
    assert elsewhere.calls == []


def test_a_file_over_the_cap_is_refused(provider_api) -> None:  # type: ignore[no-untyped-def]
    provider_api.media["/media/BIG"] = b"x" * 1001
    with pytest.raises(MediaTooLarge):
        account(provider_api).fetch(provider_api.url + "/media/BIG", 1000)
    assert account(provider_api).fetch(provider_api.url + "/media/BIG", 1001) == b"x" * 1001
