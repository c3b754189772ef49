"""The signed attachment links sent to the case tracker (finding 6).

Every download is audited (case, attachment id, "signed-link"; never an
address); a closed or purged case's files, a file that is gone and an
expired link all get the same 410; a forged link gets 403 before the
database is asked anything.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import delete, event, select, update

from gateway.cases import audit
from gateway.cases.filing import set_status
from gateway.cases.reports import NewAttachment, NewReport
from gateway.cli import main
from gateway.core.accounts import AuditEntry
from gateway.core.models import Attachment, Case, MediaDownload
from gateway.core.schema import utcnow
from gateway.core.states import CaseStatus
from gateway.forwarders.payload import ATTACHMENT_LINK_DAYS
from gateway.work import retention
from gateway.work.reporter import submit_report
from tests.support.jobs import run_jobs
from tests.test_privacy import jpeg_with_gps

PUBLIC_BASE_URL = "http://gateway.test"  # tests/conftest.py


@pytest.fixture
def link(gw, tracker):  # type: ignore[no-untyped-def]
    """(receipt, path of the attachment link the tracker received)."""
    report = NewReport(
        narrative="x",
        language="en",
        follow_up=True,
        attachments=[NewAttachment("image/jpeg", jpeg_with_gps())],
    )
    receipt = submit_report(gw, report, channel="web", reply_address="kept-for-purge")
    run_jobs(gw)
    [request] = [r for r in tracker.requests if r.answered == 201]
    [attachment] = request.body["attachments"]
    return receipt, attachment["url"].removeprefix(PUBLIC_BASE_URL)


@contextmanager
def statements(gw) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """The SQL statements the gateway's engine runs meanwhile."""
    seen: list[str] = []

    def note(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(gw.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(gw.engine, "before_cursor_execute", note)


def downloads(gw) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "attachment.download")
                .order_by(AuditEntry.id)
            )
        )


def test_a_download_is_audited_without_an_address(gw, client, env, link, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    receipt, path = link
    response = client.get(path, environ_base={"REMOTE_ADDR": "198.51.100.77"})
    assert response.status_code == 200 and response.data[:3] == b"\xff\xd8\xff"
    with gw.sessions() as session:
        attachment_id = session.scalars(select(Attachment.id)).one()
        digits = session.scalars(select(Case.case_number)).one()
    [entry] = downloads(gw)
    assert (entry.actor, entry.target) == ("case-tracker", digits)
    assert entry.detail == {"attachment": attachment_id, "requester": "signed-link"}
    assert "198.51.100.77" not in repr((entry.actor, entry.target, entry.detail))
    assert client.get(path).status_code == 200
    assert len(downloads(gw)) == 2  # each download, not each link
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["audit", "verify", "--data-dir", str(gw.settings.data_dir)]) == 0


def close(gw, case_id: int) -> None:  # type: ignore[no-untyped-def]
    with gw.sessions() as session, session.begin():
        set_status(session, gw, session.get(Case, case_id), CaseStatus.CLOSED, actor="focal")


def purge_by_age(gw, case_id: int) -> None:  # type: ignore[no-untyped-def]
    """A case closed longer ago than the retention period: the purge marks it."""
    close(gw, case_id)
    old = utcnow() - timedelta(days=gw.settings.retention_days + 1)
    with gw.sessions() as session, session.begin():
        session.execute(update(Case).where(Case.id == case_id).values(closed_at=old))
    retention.purge(gw)
    with gw.sessions() as session:
        assert session.get(Case, case_id).purged_at is not None
        assert session.get(Case, case_id).content_purged_at is not None


def drop_file(gw, case_id: int) -> None:  # type: ignore[no-untyped-def]
    with gw.sessions() as session, session.begin():
        session.execute(update(MediaDownload).values(attachment_id=None))
        session.execute(delete(Attachment))


@pytest.mark.parametrize(
    "make_gone", [close, purge_by_age, drop_file], ids=["closed", "purged", "file gone"]
)
def test_a_link_to_a_closed_or_purged_case_is_gone(gw, client, link, make_gone) -> None:  # type: ignore[no-untyped-def]
    receipt, path = link
    make_gone(gw, receipt.case_id)
    response = client.get(path)
    assert response.status_code == 410 and b"\xff\xd8\xff" not in response.data
    assert downloads(gw) == []


def forged(path: str) -> str:
    """The same link with the first character of its signature changed."""
    head, signature = path.rsplit(".", 1)
    return f"{head}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"


def expired(gw, attachment_id: int) -> str:  # type: ignore[no-untyped-def]
    """A link the gateway signed eight days ago."""

    class EightDaysAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - (ATTACHMENT_LINK_DAYS + 1) * 86400

    signer = URLSafeTimedSerializer(gw.settings.secret_key, "attachment-link", signer=EightDaysAgo)
    return f"/attachments/{signer.dumps(attachment_id)}"


BAD_LINKS = [
    ("forged", 403),
    ("forged for an id that does not exist", 403),
    ("another signing context", 403),
    ("not a link at all", 403),
    ("expired", 410),
    ("expired for an id that does not exist", 410),
]


def test_bad_links_are_refused_before_any_look_up(gw, client, link) -> None:  # type: ignore[no-untyped-def]
    """One case for the whole table: each row is a single request that must change nothing."""
    receipt, path = link
    with gw.sessions() as session:
        attachment_id = session.scalars(select(Attachment.id)).one()
    other_context = URLSafeTimedSerializer(gw.settings.secret_key, salt="something-else")
    urls = {
        "forged": forged(path),
        "forged for an id that does not exist": forged(expired(gw, 999999)),
        "another signing context": f"/attachments/{other_context.dumps(attachment_id)}",
        "not a link at all": "/attachments/not-a-token.at-all",
        "expired": expired(gw, attachment_id),
        "expired for an id that does not exist": expired(gw, 999999),
    }
    for label, status in BAD_LINKS:
        with statements(gw) as seen:
            response = client.get(urls[label])
        assert response.status_code == status, label
        assert seen == [], f"{label}: the database was asked before the link was verified"
    assert downloads(gw) == []
    with gw.sessions() as session:
        assert audit.verify(session) == (True, None)
