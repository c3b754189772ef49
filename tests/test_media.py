"""Media sent with a message: fetched by the worker, stored encrypted, then forwarded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import select, update

from gateway import intake, media_fetch, outbound
from gateway.inbound import InboundMessage, MediaRef
from gateway.models import Attachment, MediaDownload, OutboxEntry
from tests.support.jobs import run_jobs
from tests.test_privacy import jpeg_with_gps


class MediaServer:
    """Plays a provider's media storage: serves files, fails on request."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.fail_next = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if server.fail_next:
                    server.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                body = server.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


def fetch(settings, url: str, limit: int) -> bytes:  # type: ignore[no-untyped-def]
    response = httpx.get(url, timeout=5)
    response.raise_for_status()
    return response.content


@pytest.fixture
def media_server() -> Iterator[MediaServer]:
    server = MediaServer()
    media_fetch.register_fetcher("testsms", fetch)
    outbound.register_sender("testsms", lambda settings, address, text, mid: f"o{mid}")
    yield server
    server.httpd.shutdown()
    media_fetch._fetchers.pop("testsms", None)
    outbound._senders.pop("testsms", None)


def send(gw, mid: str, text: str = "", media: tuple[MediaRef, ...] = ()) -> None:  # type: ignore[no-untyped-def]
    intake.submit(
        gw,
        [
            InboundMessage(
                channel="sms",
                provider="testsms",
                provider_message_id=mid,
                sender="+243810000020",
                text=text,
                media=media,
            )
        ],
    )
    run_jobs(gw)


def finish_conversation(gw) -> None:  # type: ignore[no-untyped-def]
    for n, answer in enumerate(("0", "0", "0", "0", "2")):
        send(gw, f"answer-{n}", answer)


def test_photo_only_message_becomes_a_report_with_the_photo(gw, tracker, media_server) -> None:  # type: ignore[no-untyped-def]
    media_server.files["/p1.jpg"] = jpeg_with_gps()
    send(gw, "m1", media=(MediaRef(media_server.url("/p1.jpg"), "image/jpeg"),))
    finish_conversation(gw)
    [request] = tracker.requests
    [attachment] = request.body["attachments"]
    assert attachment["content_type"] == "image/jpeg"
    with gw.sessions() as session:
        stored = session.scalars(select(Attachment)).one()
        data = gw.cipher.decrypt(stored.data_enc)
        assert b"PhoneMaker" not in data and data[:3] == b"\xff\xd8\xff"
        assert b"\xff\xd8\xff" not in stored.data_enc


def test_forwarding_waits_for_the_download_and_retries_it(gw, tracker, media_server) -> None:  # type: ignore[no-untyped-def]
    media_server.files["/v.ogg"] = b"OggS\x00\x02voice"
    media_server.fail_next = 1
    send(gw, "m2", "here is my voice note", (MediaRef(media_server.url("/v.ogg"), "audio/ogg"),))
    finish_conversation(gw)
    assert tracker.requests == []
    with gw.sessions() as session:
        assert session.scalars(select(OutboxEntry)).one().state == "waiting"
        download = session.scalars(select(MediaDownload)).one()
        assert download.state == "pending" and download.last_error == "HTTPStatusError"
    with gw.sessions() as session, session.begin():  # the retry is due
        session.execute(update(MediaDownload).values(next_attempt_at=download.created_at))
    media_fetch.enqueue(gw, download.id)
    run_jobs(gw)
    [request] = tracker.requests
    assert request.body["attachments"][0]["content_type"] == "audio/ogg"


@pytest.mark.parametrize(
    ("body", "error"), [(b"MZ\x90\x00 not media", "UnsupportedMedia"), (None, "HTTPStatusError")]
)
def test_a_file_given_up_does_not_hold_the_case_back(
    gw, tracker, media_server, body, error
) -> None:  # type: ignore[no-untyped-def]
    if body is not None:
        media_server.files["/x"] = body
    send(gw, "m3", "statement", (MediaRef(media_server.url("/x")),))
    finish_conversation(gw)
    for _ in range(media_fetch.MAX_ATTEMPTS):
        with gw.sessions() as session, session.begin():
            download = session.scalars(select(MediaDownload)).one()
            if download.state != "pending":
                break
            download.next_attempt_at = download.created_at  # the retry is due now
        media_fetch.enqueue(gw, download.id)
        run_jobs(gw)
    with gw.sessions() as session:
        download = session.scalars(select(MediaDownload)).one()
        assert download.state == "dead" and download.last_error == error
    [request] = tracker.requests
    assert request.body["attachments"] == [] and request.body["narrative"] == "statement"
