"""Voice notes, photos and files from Telegram: fetched by file_id, stored encrypted, forwarded."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from channels.telegram.messages import TOO_LARGE
from channels.telegram.updates import FILE_PREFIX
from gateway.cases.reports import NewReport
from gateway.conversation import texts as conversation
from gateway.core import i18n
from gateway.core.models import Attachment, Case, MediaDownload
from gateway.work.reporter import submit_report
from tests.channels.telegram.conftest import TOKEN
from tests.support.jobs import run_jobs
from tests.support.media_samples import ogg_opus_with_comments
from tests.support.questions import answers
from tests.support.telegram_api import StoredFile
from tests.test_privacy import jpeg_with_gps

# A real Ogg Opus voice note without comments: cleaning leaves it byte for byte.
VOICE = ogg_opus_with_comments(comments=(), audio=b"\xfc" + bytes(range(256)) * 40)
MB = 1024 * 1024


def voice(file_id: str, size: int | None) -> dict:
    note = {"file_id": file_id, "file_unique_id": "u" + file_id, "duration": 9}
    note["mime_type"] = "audio/ogg"
    if size is not None:
        note["file_size"] = size
    return note


def finish(reporter) -> None:  # type: ignore[no-untyped-def]
    for answer in answers(follow_up="2"):
        reporter.choose(answer)


def test_a_voice_note_is_stored_encrypted_and_forwarded(
    reporter, gw, tracker, telegram_api
) -> None:  # type: ignore[no-untyped-def]
    telegram_api.files["AwACvoice1"] = StoredFile("voice/file_7.oga", VOICE)
    [question] = reporter.send(voice=voice("AwACvoice1", len(VOICE)))
    assert question["text"] == conversation.ASK_AFFECTED
    finish(reporter)
    [request] = tracker.requests
    assert request.schema_error is None
    [attachment] = request.body["attachments"]
    assert attachment["content_type"] == "audio/ogg" and attachment["size"] == len(VOICE)
    with gw.sessions() as session:
        stored = session.scalars(select(Attachment)).one()
        assert gw.cipher.decrypt(stored.data_enc) == VOICE and VOICE[:64] not in stored.data_enc
        download = session.scalars(select(MediaDownload)).one()
        url = gw.cipher.decrypt(download.url_enc).decode()
        assert url == "tg-file:AwACvoice1" and TOKEN not in url
    assert telegram_api.calls_to("getFile") == [{"file_id": "AwACvoice1"}]


def test_a_photo_loses_its_metadata(reporter, gw, tracker, telegram_api) -> None:  # type: ignore[no-untyped-def]
    photo = jpeg_with_gps()
    telegram_api.files["AgACphoto"] = StoredFile("photos/file_3.jpg", photo)
    sizes = [
        {"file_id": "AgACthumb", "file_unique_id": "t", "width": 4, "height": 3, "file_size": 90},
        {"file_id": "AgACphoto", "file_unique_id": "p", "width": 40, "height": 30},
    ]
    reporter.send(photo=sizes, caption="The tent behind the clinic")
    finish(reporter)
    [request] = tracker.requests
    assert request.body["narrative"] == "The tent behind the clinic"
    assert [a["content_type"] for a in request.body["attachments"]] == ["image/jpeg"]
    with gw.sessions() as session:
        data = gw.cipher.decrypt(session.scalars(select(Attachment)).one().data_enc)
    assert data[:3] == b"\xff\xd8\xff" and b"PhoneMaker" not in data


def test_a_file_over_the_limit_is_refused_with_a_message(reporter, gw, telegram_api) -> None:  # type: ignore[no-untyped-def]
    limit = min(20, gw.settings.max_upload_bytes // MB)
    notice = i18n.gettext("en", TOO_LARGE, limit=limit)
    big = voice("AwACbig", 25 * MB)
    assert [m["text"] for m in reporter.send(voice=big)] == [notice]
    with gw.sessions() as session:  # the file was all there was: no report started
        assert session.scalars(select(MediaDownload)).first() is None
    # With words beside it, the report goes on without the file.
    replies = reporter.send(voice=big, caption="He came at night")
    assert [m["text"] for m in replies] == [notice, conversation.ASK_AFFECTED]
    finish(reporter)
    with gw.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert session.scalars(select(MediaDownload)).first() is None
    assert telegram_api.calls_to("getFile") == []
    assert case.channel == "telegram"


def test_a_file_telegram_will_not_hand_over_is_given_up(
    reporter, gw, tracker, telegram_api
) -> None:  # type: ignore[no-untyped-def]
    # The update gave no size; getFile says the file is over the 20 MB bot limit.
    telegram_api.files["AwACunsized"] = StoredFile("voice/file_9.oga", VOICE, size=21 * MB)
    reporter.send(voice=voice("AwACunsized", None), caption="statement")
    finish(reporter)
    with gw.sessions() as session:
        download = session.scalars(select(MediaDownload)).one()
        assert download.state == "dead" and download.last_error == "MediaTooLarge"
    [request] = tracker.requests
    assert request.body["attachments"] == [] and request.body["narrative"] == "statement"


def test_a_file_over_the_gateway_limit_but_under_telegrams_is_given_up(
    reporter, gw, tracker, telegram_api
) -> None:  # type: ignore[no-untyped-def]
    size = gw.settings.max_upload_bytes + 1
    assert size < 20 * MB
    telegram_api.files["BQACdoc"] = StoredFile("documents/file_2.pdf", b"%PDF-" + b"x" * size)
    document = {"file_id": "BQACdoc", "file_unique_id": "d", "mime_type": "application/pdf"}
    reporter.send(document=document, caption="statement")
    finish(reporter)
    with gw.sessions() as session:
        download = session.scalars(select(MediaDownload)).one()
        assert download.state == "dead" and download.last_error == "MediaTooLarge"
    assert tracker.requests[0].body["attachments"] == []


@pytest.mark.parametrize(
    "file_path",
    ["{local}", "../file/bot{token}/photos/p.jpg", "photos/../../p.jpg", "http://evil.test/p.jpg"],
    ids=["a path on the gateway's own disk", "dot-dot up", "dot-dot within", "a URL"],
)
def test_a_file_path_outside_the_bot_apis_file_root_is_not_fetched(
    app, gw, tracker, telegram_api, tmp_path, file_path
) -> None:  # type: ignore[no-untyped-def]
    """Finding 3: downloads go to TELEGRAM_API_BASE_URL only, never to this machine's disk."""
    local = tmp_path / "photo-on-disk.jpg"
    local.write_bytes(jpeg_with_gps())
    path = file_path.format(local=local, token=TOKEN)
    telegram_api.files["AgACodd"] = StoredFile(path, jpeg_with_gps())
    report = NewReport(narrative="statement", language="en")
    media = [("telegram", FILE_PREFIX + "AgACodd", "image/jpeg")]
    submit_report(gw, report, channel="telegram", provider="telegram", media=media)
    run_jobs(gw)
    assert telegram_api.calls_to("getFile") == [{"file_id": "AgACodd"}]
    with gw.sessions() as session:
        download = session.scalars(select(MediaDownload)).one()
        assert (download.state, download.last_error) == ("dead", "ForeignMediaUrl")
        assert session.scalars(select(Attachment)).first() is None
    [request] = tracker.requests
    assert request.body["attachments"] == [] and request.body["narrative"] == "statement"
