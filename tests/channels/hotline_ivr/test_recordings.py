"""The statement's recording: fetched by the worker, stored encrypted, deleted at Twilio."""

from __future__ import annotations

from sqlalchemy import select, update

from channels.hotline_ivr import recordings
from gateway.core.models import Attachment, MediaDownload, OutboxEntry, ProviderCleanup
from gateway.core.schema import utcnow
from gateway.work import cleanup, media_fetch
from tests.channels.hotline_ivr.test_calls import report
from tests.channels.hotline_ivr.twilio_api import wav_bytes
from tests.support.jobs import run_jobs


def test_the_worker_fetches_the_recording_forwards_it_then_deletes_it_at_twilio(
    gw, tracker, twilio_api, phone
) -> None:  # type: ignore[no-untyped-def]
    audio = wav_bytes(1.0)
    p = phone()
    p.dial().press("1").press("1").press("2").press("2")
    url = twilio_api.new_recording(audio)
    p.speak(url).press("1").press("0")  # keep it; who did it: not sure
    sid = url.rsplit("/", 1)[1]
    assert tracker.requests == []  # forwarding waits for the recording
    run_jobs(gw)
    [request] = tracker.requests
    assert request.schema_error is None and request.signature_ok
    assert request.body["channel"] == "voice" and request.body["narrative"] == ""
    [attachment] = request.body["attachments"]
    assert attachment["content_type"] == "audio/wav" and attachment["size"] == len(audio)
    with gw.sessions() as session:
        stored = session.scalars(select(Attachment)).one()
        assert gw.cipher.decrypt(stored.data_enc) == audio and audio not in stored.data_enc
        assert session.scalars(select(ProviderCleanup)).one().state == "done"
    methods = [(r.method, r.authorized, r.status) for r in twilio_api.requests]
    assert methods == [("GET", True, 200), ("DELETE", True, 204)]  # deleted only once stored
    assert twilio_api.deleted() == [sid] and sid not in twilio_api.recordings


def test_a_recording_not_ready_yet_is_fetched_again_and_forwarding_waits(
    gw, tracker, twilio_api, phone
) -> None:  # type: ignore[no-untyped-def]
    twilio_api.fail_next_get = 1
    report(phone(), twilio_api)
    run_jobs(gw)
    assert tracker.requests == [] and twilio_api.deleted() == []
    with gw.sessions() as session:
        assert session.scalars(select(OutboxEntry)).one().state == "waiting"
        download = session.scalars(select(MediaDownload)).one()
        assert download.state == "pending" and download.last_error == "HTTPStatusError"
    with gw.sessions() as session, session.begin():  # the retry is due
        session.execute(update(MediaDownload).values(next_attempt_at=download.created_at))
    media_fetch.enqueue(gw, download.id)
    run_jobs(gw)
    [request] = tracker.requests
    assert len(request.body["attachments"]) == 1 and len(twilio_api.deleted()) == 1


def test_credentials_go_only_to_twilios_api_host(gw, tracker, twilio_api, phone) -> None:  # type: ignore[no-untyped-def]
    """A RecordingUrl elsewhere is never fetched: the report is forwarded without it."""
    p = phone().dial().press("1").press("1").press("3").press("2")
    p.speak("https://recordings.example.invalid/2010-04-01/Recordings/RE" + "a" * 32).press(
        "1"
    ).press("0")
    run_jobs(gw)
    with gw.sessions() as session:
        download = session.scalars(select(MediaDownload)).one()
        assert download.state == "dead" and download.last_error == "ForeignMediaUrl"
    [request] = tracker.requests
    assert request.body["attachments"] == []
    assert twilio_api.requests == []


def test_recording_sids_are_read_from_twilios_urls() -> None:
    sid = "RE" + "0123456789abcdef" * 2
    base = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/"
    assert recordings.recording_sid(base + sid) == sid
    assert recordings.recording_sid(base + sid + ".wav") == sid
    assert recordings.recording_sid(base + "RE123") is None
    assert recordings.recording_sid("https://api.twilio.com/") is None


def make_due(gw) -> None:  # type: ignore[no-untyped-def]
    """The planned deletions are due now (they wait a few minutes after a call)."""
    with gw.sessions() as session, session.begin():
        session.execute(update(ProviderCleanup).values(next_attempt_at=utcnow()))
        ids = session.scalars(select(ProviderCleanup.id).where(ProviderCleanup.state == "pending"))
        ids = list(ids)
    for cleanup_id in ids:
        cleanup.enqueue(gw, cleanup_id)
    run_jobs(gw)


def test_a_finished_calls_record_is_deleted_at_twilio_after_its_recording_is_stored(
    gw, tracker, twilio_api, phone
) -> None:  # type: ignore[no-untyped-def]
    twilio_api.fail_next_get = 1  # the recording is not ready at first
    p = phone()
    report(p, twilio_api)
    p.keep_silent().keep_silent()
    assert p.ended and p.hang_up() == 200
    run_jobs(gw)
    make_due(gw)
    assert twilio_api.deleted("Calls") == []  # a recording still to fetch: the call stays
    with gw.sessions() as session, session.begin():  # the recording's retry is due
        session.execute(update(MediaDownload).values(next_attempt_at=utcnow()))
        download_id = session.scalars(select(MediaDownload.id)).one()
    media_fetch.enqueue(gw, download_id)
    run_jobs(gw)
    twilio_api.refuse_call_deletion = 1  # Twilio not finished with the call: tried again
    make_due(gw)
    assert twilio_api.deleted("Calls") == []
    make_due(gw)
    assert twilio_api.deleted("Calls") == [p.call_sid]
    assert len(twilio_api.deleted()) == 1 and len(tracker.requests) == 1
    with gw.sessions() as session:
        states = {row.provider: row.state for row in session.scalars(select(ProviderCleanup))}
    assert states == {"twilio-voice": "done", "twilio-voice-call": "done"}
