"""Attachments streamed only to a signed-in user, and the hand-over exports, all audited."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pikepdf
from sqlalchemy import select

from gateway.cases.reports import NewAttachment, NewReport
from gateway.core.accounts import AuditEntry
from gateway.core.states import Role
from gateway.work.reporter import submit_report
from tests.console.conftest import Browser, png
from tests.support.jobs import run_jobs
from tests.support.media_samples import ogg_opus_with_comments

NARRATIVE = "He said he would give my mother work if I stayed after the food distribution"


def file_with_attachments(gw):  # type: ignore[no-untyped-def]
    report = NewReport(
        narrative=NARRATIVE,
        language="en",
        location="Sector 4",
        attachments=[
            NewAttachment("image/png", png()),
            NewAttachment("audio/ogg", ogg_opus_with_comments()),
        ],
    )
    receipt = submit_report(gw, report, channel="web")
    run_jobs(gw)  # the worker cleans the files into attachments
    return receipt


def audit_entries(gw, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_attachments_stream_only_to_a_signed_in_user(gw, app, clock, signed_in) -> None:  # type: ignore[no-untyped-def]
    receipt = file_with_attachments(gw)
    focal = signed_in(Role.FOCAL_POINT, "lena")
    page = focal.get(f"/console/cases/{receipt.case_number}").get_data(as_text=True)
    image_url, audio_url = re.findall(r'(?:img|audio)[^>]* src="(/console/attachments/\d+)"', page)
    anonymous = Browser(app.test_client(), clock)
    refused = anonymous.get(image_url)
    assert refused.status_code == 302 and b"PNG" not in refused.data
    assert audit_entries(gw, "attachment.download") == []
    image = focal.get(image_url)
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.data.startswith(b"\x89PNG") and image.headers["Cache-Control"] == "no-store"
    assert image.headers["Content-Disposition"].startswith("inline")
    audio = focal.get(audio_url)
    assert audio.data.startswith(b"OggS") and audio.mimetype == "audio/ogg"
    ranged = focal.get(audio_url, headers={"Range": "bytes=0-3"})
    assert ranged.status_code == 206 and ranged.data == b"OggS"
    entries = audit_entries(gw, "attachment.download")
    assert len(entries) == 3 and {e.actor for e in entries} == {"lena"}
    assert all(e.target == receipt.case_number.replace("-", "") for e in entries)
    viewer = signed_in(Role.VIEWER)
    assert viewer.get(image_url).status_code == 403


def test_zip_export_holds_the_report_and_attachments_and_is_audited(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    receipt = file_with_attachments(gw)
    focal = signed_in(Role.FOCAL_POINT, "mara")
    focal.post(f"/console/cases/{receipt.case_number}/note", note="Medical referral made")
    response = focal.get(f"/console/cases/{receipt.case_number}/export.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    document = json.loads(archive.read("case.json"))
    assert document["case_number"] == receipt.case_number
    assert document["report"]["narrative"] == NARRATIVE
    assert document["report"]["location"] == "Sector 4"
    assert any(e["text"] == "Medical referral made" for e in document["events"])
    files = {a["file"]: a for a in document["attachments"]}
    assert len(files) == 2
    for name, meta in files.items():
        data = archive.read(name)
        assert len(data) == meta["size"]
    assert receipt.pin not in json.dumps(document)
    [entry] = audit_entries(gw, "case.export")
    assert entry.actor == "mara" and entry.detail == {"format": "zip", "attachments": 2}
    assert NARRATIVE not in json.dumps(entry.detail)


def _pdf_text(data: bytes) -> str:
    """The text drawn by the pages' content streams (core fonts write it literally).

    The streams are read with pikepdf, page by page, not found by a pattern in the
    file's bytes: an embedded image's bytes could hold what looks like a stream's end.
    """
    text = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            for stream in _contents(page.obj.Contents):
                text += [m.decode("latin-1") for m in re.findall(rb"\((.*?)\) ?Tj", stream)]
    return " ".join(text)


def _contents(contents: pikepdf.Object) -> list[bytes]:
    """A page's content: one stream or an array of them, decompressed."""
    if isinstance(contents, pikepdf.Array):
        return [item.read_bytes() for item in contents]
    return [contents.read_bytes()]


def test_pdf_export_holds_the_report_and_is_audited(gw, signed_in, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from gateway.console import exports

    monkeypatch.setattr(exports, "FONT_PATHS", ())  # a core font: its text can be read back
    receipt = file_with_attachments(gw)
    focal = signed_in(Role.FOCAL_POINT, "nadia")
    response = focal.get(f"/console/cases/{receipt.case_number}/export.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    text = _pdf_text(response.data)
    assert receipt.case_number in text and "Sector 4" in text
    assert "He said he would give my mother work" in text
    [entry] = audit_entries(gw, "case.export")
    assert entry.actor == "nadia" and entry.detail["format"] == "pdf"


def test_pdf_export_with_a_unicode_font_when_the_system_has_one(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    report = NewReport(narrative="Il m'a menacée · تهديد", language="fr")
    receipt = submit_report(gw, report, channel="web")
    response = signed_in(Role.ADMIN).get(f"/console/cases/{receipt.case_number}/export.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
