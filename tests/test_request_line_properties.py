"""Request lines of every length, per channel, against a real `serve` (gunicorn) on PostgreSQL.

Finding 8 of issue 16: a long non-Latin SMS through Kannel's get-url was
refused with 414 by gunicorn's 4,094-byte request line, and Kannel does
not retry a 4xx: the report was lost. The bound is now MAX_REQUEST_LINE
(gateway/web/request_limits.py), in gunicorn and in the WSGI middleware.

Each property builds a request line (or a body) of a length hypothesis
picks across the interesting range (short, about 4 KiB, 8 KiB, just under
and just over MAX_REQUEST_LINE), the text in a script it picks (Latin,
Arabic, Devanagari, emoji, characters that are percent-encoded), signed or
keyed as the provider does, and sends it over HTTP to the served gateway:

- never a 5xx;
- a request line over the bound is 414, and nothing is stored;
- a request line that fits is never refused for its length: a signed
  Kannel get-url SMS is 200 and exactly one inbound event holding the text
  as sent; every other channel answers as it does to a short request;
- a forged key or signature is 403 (414 when the line is over the bound),
  and nothing is stored.

One `serve` for the module, on a fresh PostgreSQL schema and real Redis;
no worker (what is checked is what the web process does before it
answers). GATEWAY_TEST_PYTHONPATH runs it from another tree (an older
commit, to see these fail there); GATEWAY_FUZZ_EXAMPLES raises the
examples (tests/test_hostile_input.py).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import redis as redis_lib
from cryptography.fernet import Fernet
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, func, select

from gateway.core.models import InboundEvent
from gateway.core.privacy import Cipher
from gateway.core.schema import Base
from gateway.web.request_limits import MAX_REQUEST_LINE
from tests.channels.sms import harness
from tests.channels.telegram.conftest import SECRET as TELEGRAM_SECRET
from tests.support import providers
from tests.support.private_servers import free_port
from tests.support.served import CLIENT_ADDRESS, Process, base_env, fresh_pg_schema, wait_healthy
from tests.test_hostile_input import EXAMPLES, HOSTILE, twilio_sign

pytestmark = pytest.mark.slow

# Each example is one to three real HTTP requests of up to 256 KiB: a few per property.
PROPERTY = settings(HOSTILE, max_examples=max(4, EXAMPLES // 4))
PUBLIC_BASE_URL = harness.PUBLIC_BASE_URL  # what Twilio signs; the process is told the same
NOWHERE = "http://127.0.0.1:9"  # nothing listens: the web process sends nothing anyway
HTTP_VERSION = " HTTP/1.1"
EVENTS = InboundEvent.__tablename__
_unique = count(1)

# The scripts a reporter writes in, and characters that mean something in a URL (escaped).
SCRIPTS = {
    "latin": "abcdefghijklmnopqrstuvwxyz éèçñøΔ",
    "arabic": "".join(map(chr, range(0x0621, 0x064B))),
    "devanagari": "".join(map(chr, range(0x0905, 0x093A))),
    "emoji": "".join(map(chr, range(0x1F600, 0x1F650))),
    "percent-encoded": " &%+=#?/;:@,'\"<>\\",
}
seeds = st.sampled_from(sorted(SCRIPTS)).flatmap(
    lambda name: st.text(st.sampled_from(SCRIPTS[name]), min_size=1, max_size=12)
)
# Lengths of the whole request line (or of a body) across the range where limits live.
lengths = st.one_of(
    st.integers(60, 600),
    st.integers(3_900, 4_300),  # gunicorn's old default, 4,094
    st.integers(8_000, 8_400),  # gunicorn's own cap, 8,190
    st.integers(MAX_REQUEST_LINE - 64, MAX_REQUEST_LINE),
    st.integers(MAX_REQUEST_LINE + 1, MAX_REQUEST_LINE + 64),
)


def filler(seed: str, size: int, charset: str = "utf-8") -> tuple[str, str]:
    """A text of `seed` repeated and its percent-encoding, as close to `size` bytes as can be.

    UTF-8 makes it exactly `size`; UTF-16 (Kannel's UCS-2) up to 3 bytes short.
    """
    size = max(0, size)

    def encode(text: str) -> str:
        return quote(text.encode(charset), safe="")

    unit = encode(seed)
    times = size // len(unit)
    text = seed * times + "a" * ((size - times * len(unit)) // len(encode("a")))
    encoded = encode(text)
    assert size - len(encode("a")) < len(encoded) <= size or size == 0
    return text, encoded


def wrong(key: str) -> str:
    """A forged key of the same length (so the forged request line is as long)."""
    return key[::-1]


def line_length(method: str, target: str) -> int:
    """The request line as gunicorn measures it: `METHOD target HTTP/1.1`, without CRLF."""
    return len(method) + 1 + len(target) + len(HTTP_VERSION)


# --- the served gateway --------------------------------------------------------------------


@dataclass
class Served:
    port: int
    engine: Engine
    cipher: Cipher
    serve: Process

    def rows(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                t.name: int(conn.scalar(select(func.count()).select_from(t)) or 0)
                for t in Base.metadata.sorted_tables
            }

    def last_text(self) -> str:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(InboundEvent.payload_enc).order_by(InboundEvent.id.desc()).limit(1)
            ).scalar_one()
        return str(self.cipher.decrypt_json(row)["text"])

    def send(self, method: str, target: str, body: bytes = b"", headers: Any = ()) -> int:
        """One request, its line exactly as written (httpx refuses URLs over 64 KiB)."""
        head = [f"{method} {target}{HTTP_VERSION}", "Host: gateway.test", "Connection: close"]
        head += [f"{name}: {value}" for name, value in headers]
        if method == "POST":
            head.append(f"Content-Length: {len(body)}")
        return exchange(self.port, "\r\n".join([*head, "", ""]).encode() + body)


def exchange(port: int, request: bytes) -> int:
    """Send bytes from the test's client address; the status the server answered.

    A server may answer (414, 403, 413) before it has read everything and
    close: the answer is read even when sending the rest fails.
    """
    with socket.create_connection(("127.0.0.1", port), source_address=(CLIENT_ADDRESS, 0)) as s:
        with contextlib.suppress(OSError):
            s.sendall(request)
            s.shutdown(socket.SHUT_WR)
        answer = b""
        with contextlib.suppress(OSError):
            while len(answer) < 64 and (chunk := s.recv(65536)):
                answer += chunk
    assert answer.startswith(b"HTTP/1."), f"no answer: {answer!r}"
    return int(answer.split(b" ", 2)[1])


@pytest.fixture(scope="module")
def served(real_redis_url: str) -> Iterator[Served]:
    root = Path(tempfile.mkdtemp(prefix="cg-request-line-"))
    logs = root / "logs"
    logs.mkdir()
    port = free_port()
    data_key = Fernet.generate_key().decode()
    redis_lib.Redis.from_url(real_redis_url).flushdb()  # this test process's own database
    with fresh_pg_schema() as database_url:
        env = base_env(
            GATEWAY_SECRET_KEY="made-up-flask-secret-request-line-5521",
            GATEWAY_DATA_KEY=data_key,
            GATEWAY_PSEUDONYM_KEY="made-up-pseudonym-key-request-line-8843",
            DATABASE_URL=database_url,
            REDIS_URL=real_redis_url,
            PUBLIC_BASE_URL=PUBLIC_BASE_URL,
            CASE_TRACKER_URL=NOWHERE,
            CASE_TRACKER_SECRET="made-up-tracker-secret-request-line-3307",
            TWILIO_ACCOUNT_SID=providers.TWILIO_SID,
            TWILIO_API_BASE_URL=NOWHERE,
            AFRICASTALKING_USERNAME=providers.AT_USERNAME,
            AFRICASTALKING_API_BASE_URL=NOWHERE,
            KANNEL_SENDSMS_URL=NOWHERE + "/cgi-bin/sendsms",
            KANNEL_USERNAME=providers.KANNEL_USERNAME,
            TELEGRAM_API_BASE_URL=NOWHERE,
            **harness.CHANNEL_SECRETS,
        )
        args = ["serve", "--port", str(port), "--workers", "1", "--threads", "2"]
        serve = Process.start("serve", [*args, "--data-dir", str(root / "var")], env, logs, root)
        engine = create_engine(database_url)
        try:
            wait_healthy(f"http://127.0.0.1:{port}", [serve])
            yield Served(port, engine, Cipher(data_key), serve)
        finally:
            engine.dispose()
            serve.stop()
            shutil.rmtree(root, ignore_errors=True)
    redis_lib.Redis.from_url(real_redis_url).flushdb()


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in after if after[name] != before[name]}


# --- Kannel's get-url: the SMS in the query -----------------------------------------------------


def kannel_target(
    text_encoded: str, key: str, message_id: str, charset: str = "utf-8", smsc: str = "FAKE"
) -> str:
    """smsbox's get-url; UTF-16BE is a UCS-2 SMS with mo-recode off (`%c` 2, `%C`)."""
    head = urlencode({"from": "+243810000090", "to": "1234", "ts": "2026-03-01 10:00:00"})
    tail = urlencode({"smsc": smsc, "id": message_id, "key": key})
    coding = "&coding=2&charset=UTF-16BE" if charset == "utf-16-be" else ""
    return f"/sms/kannel?{head}&text={text_encoded}{coding}&{tail}"


@PROPERTY
@given(seed=seeds, length=lengths, charset=st.sampled_from(["utf-8", "utf-16-be"]))
@example(seed="\u0645", length=4_095, charset="utf-8")  # one byte over gunicorn's old line
@example(seed="\u0645", length=MAX_REQUEST_LINE, charset="utf-16-be")  # the longest that fits
@example(seed="\u0645", length=MAX_REQUEST_LINE + 1, charset="utf-8")
def test_a_kannel_sms_is_taken_whenever_its_request_line_fits(
    served: Served, seed: str, length: int, charset: str
) -> None:
    message_id = str(uuid.uuid4())
    fixed = line_length("GET", kannel_target("", harness.KANNEL_KEY, message_id, charset))
    text, encoded = filler(seed, length - fixed, charset)
    smsc = "FAKE" + "X" * (max(0, length - fixed) - len(encoded))  # UCS-2's last bytes

    def target(key: str) -> str:
        return kannel_target(encoded, key, message_id, charset, smsc)

    assert line_length("GET", target(harness.KANNEL_KEY)) == max(length, fixed)
    fits = max(length, fixed) <= MAX_REQUEST_LINE

    before = served.rows()
    forged = served.send("GET", target(wrong(harness.KANNEL_KEY)))
    assert forged == (403 if fits else 414)
    assert changed(before, served.rows()) == {}

    status = served.send("GET", target(harness.KANNEL_KEY))
    if fits:
        assert status == 200
        assert changed(before, served.rows()) == {"inbound_events": 1}
        assert served.last_text() == text  # the whole text, not a cut one
    else:
        assert status == 414
        assert changed(before, served.rows()) == {}


# --- every channel: the filler in its query or its body ------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Channel:
    """How one endpoint is called; `build(query, body, forged)` with `query` percent-encoded."""

    label: str
    build: Callable[[str, str, bool], Request]
    ok: frozenset[int]  # what a request that fits is answered (short ones included)
    stores: str = ""  # the table an accepted request adds one row to
    signed: bool = True  # a forged key or signature is refused


def form(data: dict[str, str]) -> bytes:
    return urlencode(data).encode()


FORM = (("Content-Type", "application/x-www-form-urlencoded"),)


def twilio(path: str, fields: Callable[[str], dict[str, str]]) -> Callable[..., Request]:
    """Twilio's POST: signed over the public URL (query included) and the form."""

    def build(query: str, body: str, forged: bool) -> Request:
        target = f"{path}?x={query}"
        data = fields(body)
        token = "not-the-token" if forged else providers.TWILIO_TOKEN
        signature = twilio_sign(target, data, token)
        return Request("POST", target, form(data), (*FORM, ("X-Twilio-Signature", signature)))

    return build


def keyed(path: str, fields: Callable[[str], dict[str, str]], key: str) -> Callable[..., Request]:
    """Africa's Talking and Kannel's post-url: the key in the query."""

    def build(query: str, body: str, forged: bool) -> Request:
        target = f"{path}?key={wrong(key) if forged else key}&x={query}"
        return Request("POST", target, form(fields(body)), FORM)

    return build


def kannel_get(query: str, body: str, forged: bool) -> Request:
    key = wrong(harness.KANNEL_KEY) if forged else harness.KANNEL_KEY
    return Request("GET", kannel_target(query, key, str(uuid.uuid4())))


def kannel_post(query: str, body: str, forged: bool) -> Request:
    key = wrong(harness.KANNEL_KEY) if forged else harness.KANNEL_KEY
    headers = (
        ("Content-Type", 'text/plain; charset="UTF-8"'),
        ("X-Kannel-From", "+243810000091"),
        ("X-Kannel-To", "1234"),
        ("X-Kannel-Time", "2026-03-01 10:00:00"),
    )
    target = f"/sms/kannel?key={key}&id={uuid.uuid4()}&x={query}"
    return Request("POST", target, body.encode(), headers)


def kannel_dlr(query: str, body: str, forged: bool) -> Request:
    key = wrong(harness.KANNEL_KEY) if forged else harness.KANNEL_KEY
    return Request("GET", f"/sms/kannel/dlr?id=1&status=1&key={key}&smsc={query}")


def telegram(query: str, body: str, forged: bool) -> Request:
    n = next(_unique) + uuid.uuid4().int % 10**8
    chat = {"id": 710_000_000 + n, "type": "private", "first_name": "A"}
    update = {
        "update_id": n,
        "message": {
            "message_id": n,
            "from": {"id": chat["id"], "is_bot": False, "first_name": "A"},
            "chat": chat,
            "date": 1767225600,
            "text": body or "hello",
        },
    }
    secret = "not-the-secret" if forged else TELEGRAM_SECRET
    headers = (
        ("Content-Type", "application/json"),
        ("X-Telegram-Bot-Api-Secret-Token", secret),
    )
    data = json.dumps(update, ensure_ascii=False).encode()
    return Request("POST", f"/telegram/webhook?x={query}", data, headers)


def page(path: str, name: str) -> Callable[..., Request]:
    return lambda query, body, forged: Request("GET", f"{path}?{name}={query}")


def sms(body: str) -> str:
    return body or "hello"


def call(extra: dict[str, str]) -> Callable[[str], dict[str, str]]:
    def fields(body: str) -> dict[str, str]:
        base = {"CallSid": f"CA{uuid.uuid4().hex}", "AccountSid": providers.TWILIO_SID}
        return {**base, "From": "+243810000092", "To": "+243810009999", **extra}

    return fields


CHANNELS = [
    Channel("kannel-get", kannel_get, frozenset({200}), stores=EVENTS),
    Channel("kannel-post", kannel_post, frozenset({200, 413}), stores=EVENTS),
    Channel("kannel-dlr", kannel_dlr, frozenset({200})),
    Channel(
        "africastalking",
        keyed(
            "/sms/africastalking",
            lambda b: {"id": f"ATXid_{uuid.uuid4().hex}", "from": "+243810000093", "text": sms(b)},
            harness.AT_KEY,
        ),
        frozenset({200, 413}),
        stores=EVENTS,
    ),
    Channel(
        "africastalking-delivery",
        keyed(
            "/sms/africastalking/delivery",
            lambda b: {"id": f"ATXid_{uuid.uuid4().hex}", "status": "Success", "x": b},
            harness.AT_KEY,
        ),
        frozenset({200, 413}),
    ),
    Channel(
        "twilio-sms",
        twilio(
            "/sms/twilio",
            lambda b: {
                "MessageSid": f"SM{uuid.uuid4().hex}",
                "AccountSid": providers.TWILIO_SID,
                "From": "+243810000094",
                "To": "+243810009998",
                "Body": sms(b),
                "NumMedia": "0",
            },
        ),
        frozenset({200, 413}),
        stores=EVENTS,
    ),
    Channel(
        "twilio-status",
        twilio(
            "/sms/twilio/status",
            lambda b: {"MessageSid": f"SM{uuid.uuid4().hex}", "MessageStatus": "delivered", "x": b},
        ),
        frozenset({200, 413}),
    ),
    Channel("hotline-voice", twilio("/ivr/twilio/voice", call({})), frozenset({200, 413})),
    Channel(
        "hotline-menu", twilio("/ivr/twilio/menu", call({"Digits": "9"})), frozenset({200, 413})
    ),
    Channel(
        "hotline-status",
        twilio("/ivr/twilio/status", call({"CallStatus": "completed"})),
        frozenset({200, 413}),
        stores="provider_cleanups",  # the ended call's recordings, to delete at Twilio
    ),
    Channel("telegram", telegram, frozenset({200, 413}), stores=EVENTS),
    Channel("web-report", page("/report", "lang"), frozenset({200}), signed=False),
    Channel("web-status", page("/status", "lang"), frozenset({200}), signed=False),
]


@pytest.mark.parametrize("channel", CHANNELS, ids=[c.label for c in CHANNELS])
@PROPERTY
@given(seed=seeds, length=lengths, in_body=st.booleans(), forged=st.booleans())
@example(seed="\u0645", length=4_095, in_body=False, forged=False)  # over gunicorn's old line
@example(seed="\u0645", length=MAX_REQUEST_LINE, in_body=False, forged=False)
@example(seed="\u0645", length=MAX_REQUEST_LINE + 1, in_body=False, forged=True)
@example(seed="\u0645", length=MAX_REQUEST_LINE, in_body=True, forged=False)
def test_every_channel_refuses_a_request_for_its_length_only_over_the_bound(
    served: Served, channel: Channel, seed: str, length: int, in_body: bool, forged: bool
) -> None:
    in_body = in_body and channel.build("", "x", False).method == "POST"
    forged = forged and channel.signed
    if in_body:
        text = filler(seed, length)[0]
        request = channel.build("q", text, forged)
    else:
        probe = channel.build("", "", forged)
        fixed = line_length(probe.method, probe.target)
        request = channel.build(filler(seed, length - fixed)[1], "", forged)
        assert line_length(request.method, request.target) == max(length, fixed)
    fits = line_length(request.method, request.target) <= MAX_REQUEST_LINE

    before = served.rows()
    status = served.send(request.method, request.target, request.body, request.headers)
    delta = changed(before, served.rows())
    assert status < 500
    if not fits:
        assert (status, delta) == (414, {})
    elif forged:
        assert (status, delta) == (403, {})
    else:
        assert status in channel.ok, status
        accepted = channel.stores and status == 200
        assert delta == ({channel.stores: 1} if accepted else {}), (status, delta)
