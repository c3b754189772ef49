"""Media sent with a message or uploaded: cleaned by the worker, stored encrypted, forwarded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import select, update

from gateway.cases.media import UPLOADED
from gateway.cases.reports import NewAttachment, NewReport
from gateway.core.inbound import InboundMessage, MediaRef
from gateway.core.models import Attachment, CaseEvent, MediaDownload, OutboxEntry
from gateway.intake import submit as intake
from gateway.work import media_fetch, reporter
from tests.support.fake_channels import fake_channel
from tests.support.jobs import run_jobs
from tests.support.media_samples import (
    encrypted_pdf,
    mp4_with_gps,
    ogg_opus_with_comments,
    pdf_with_metadata,
    png_bomb,
    secrets_in,
)
from tests.support.questions import answers
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
    sender = lambda settings, address, text, mid: f"o{mid}"  # noqa: E731
    with fake_channel("testsms", sender=sender, media_fetcher=fetch):
        yield server
    server.httpd.shutdown()


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
    for n, answer in enumerate(answers(follow_up="2")):
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
    media_server.files["/v.ogg"] = ogg_opus_with_comments()
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


def case_notes(gw) -> list[str]:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        events = session.scalars(select(CaseEvent).where(CaseEvent.kind == "note")).all()
        return [gw.cipher.decrypt(e.body_enc).decode() for e in events]


@pytest.mark.parametrize(
    ("label", "body", "error"),
    [
        ("png bomb, 8000x8000 in 7 KB", png_bomb(), "ImageTooLarge"),
        ("pdf with a password", None, "UnsupportedMedia"),
        ("mp4 cut short", mp4_with_gps()[:700], "UnsupportedMedia"),
    ],
)
def test_a_file_refused_by_the_cleaner_leaves_a_note_and_the_report_goes_on(
    gw, tracker, media_server, label, body, error
) -> None:  # type: ignore[no-untyped-def]
    media_server.files["/f"] = body if body is not None else encrypted_pdf()
    send(gw, "m4", "statement with a file", (MediaRef(media_server.url("/f"), "image/png"),))
    finish_conversation(gw)
    with gw.sessions() as session:
        download = session.scalars(select(MediaDownload)).one()
        assert (download.state, download.last_error) == ("dead", error)
        assert session.scalars(select(Attachment)).all() == []
    [request] = tracker.requests  # filed and forwarded without the file: never lost
    assert (
        request.body["attachments"] == [] and request.body["narrative"] == "statement with a file"
    )
    [note] = case_notes(gw)
    assert "not kept" in note and error in note


def test_uploaded_files_wait_encrypted_then_are_cleaned_and_emptied(gw, tracker) -> None:  # type: ignore[no-untyped-def]
    """A web upload: stored as it came, encrypted, not forwarded; the worker cleans it."""
    pdf, mp4 = pdf_with_metadata(), mp4_with_gps()
    report = NewReport(
        narrative="see the files",
        language="en",
        attachments=[NewAttachment("application/pdf", pdf), NewAttachment("video/mp4", mp4)],
    )
    reporter.submit_report(gw, report, channel="web")
    with gw.sessions() as session:
        waiting = session.scalars(select(MediaDownload)).all()
        assert [d.provider for d in waiting] == [UPLOADED, UPLOADED]
        assert all(pdf not in d.data_enc and mp4 not in d.data_enc for d in waiting)
        assert session.scalars(select(Attachment)).all() == []  # nothing to see yet
        assert {o.state for o in session.scalars(select(OutboxEntry))} == {"waiting"}
    assert tracker.requests == []
    run_jobs(gw)
    with gw.sessions() as session:
        assert {(d.state, d.data_enc) for d in session.scalars(select(MediaDownload))} == {
            ("done", None)
        }
        stored = [gw.cipher.decrypt(a.data_enc) for a in session.scalars(select(Attachment))]
    assert len(stored) == 2 and all(secrets_in(data) == [] for data in stored)
    [request] = tracker.requests
    assert sorted(a["content_type"] for a in request.body["attachments"]) == [
        "application/pdf",
        "video/mp4",
    ]


def test_a_file_whose_attempts_never_came_back_is_given_up(gw, tracker) -> None:  # type: ignore[no-untyped-def]
    """A file that kills the worker every time (out of memory) is not tried for ever."""
    report = NewReport(
        narrative="a file that kills workers",
        language="en",
        attachments=[NewAttachment("image/png", png_bomb(100, 100))],
    )
    reporter.submit_report(gw, report, channel="web")
    with gw.sessions() as session, session.begin():  # as if each attempt had died mid-file
        session.execute(update(MediaDownload).values(attempts=media_fetch.MAX_ATTEMPTS))
    run_jobs(gw)
    with gw.sessions() as session:
        download = session.scalars(select(MediaDownload)).one()
        assert (download.state, download.last_error, download.data_enc) == ("dead", "GaveUp", None)
    [request] = tracker.requests
    assert request.body["attachments"] == []
    assert "not kept" in case_notes(gw)[0]
