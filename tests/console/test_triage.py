"""Category and urgency set in the console: what a discreet conversation does not ask.

An SMS, WhatsApp or Telegram conversation asks neither what happened nor
whether a child is involved (issue 16, finding 7), so the focal point sets
them on the case page. Each change is one `triaged` event and one audit
entry holding the old and new values; a bad value changes nothing.
"""

from __future__ import annotations

import io
import json
import re
import zipfile

from sqlalchemy import func, select

from gateway.cases import audit
from gateway.cases.reports import NewReport
from gateway.cli import main
from gateway.console import exports
from gateway.core.accounts import AuditEntry
from gateway.core.models import Case, CaseEvent, OutboxEntry
from gateway.core.states import Role
from gateway.work.reporter import submit_report
from tests.console.test_attachments_exports import _pdf_text
from tests.support.jobs import run_jobs

FIELDS = ("category", "child_involved", "danger_now")
# What the form sends, in the order a focal point might set it: every category and both answers.
STEPS = [
    ("sexual_abuse", "no", "no"),
    ("sexual_abuse", "yes", "no"),
    ("other_misconduct", "yes", "yes"),
    ("sexual_exploitation", "no", "yes"),
    ("none", "no", "no"),
]
VALID = {"category": "other_misconduct", "child_involved": "yes", "danger_now": "yes"}
# Each replaces (or, with None, leaves out) one field of a valid form.
INVALID = [
    ("category", "Sexual abuse"),
    ("category", "SEXUAL_ABUSE"),
    ("category", " sexual_abuse"),
    ("category", ""),
    ("category", "NONE"),
    ("category", "null"),
    ("category", "sexual_abuse" * 2000),
    ("category", None),
    ("child_involved", "true"),
    ("child_involved", "1"),
    ("child_involved", "on"),
    ("child_involved", ""),
    ("child_involved", None),
    ("danger_now", "Yes"),
    ("danger_now", "yes\x00"),
    ("danger_now", "نعم"),
    ("danger_now", None),
]
NUMBER = re.compile(r"/console/cases/(\d{4}-\d{6,}-\d)")


def untriaged(gw):  # type: ignore[no-untyped-def]
    """A case as a discreet SMS conversation files it: no category, no child, no danger."""
    report = NewReport(narrative="It was at the distribution on Friday", language="en")
    return submit_report(gw, report, channel="sms")


def state(gw, case_id: int) -> tuple[object, ...]:  # type: ignore[no-untyped-def]
    """The case's triage fields and how many events, audit entries and outbox rows exist."""
    with gw.sessions() as db:
        case = db.get(Case, case_id)
        return (
            case.category,
            case.child_involved,
            case.danger_now,
            db.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case_id)),
            db.scalar(select(func.count(AuditEntry.id))),
            db.scalar(select(func.count(OutboxEntry.id))),
        )


def triage_audit(gw) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with gw.sessions() as db:
        return list(
            db.scalars(
                select(AuditEntry).where(AuditEntry.action == "case.triage").order_by(AuditEntry.id)
            )
        )


def test_each_value_is_set_shown_and_audited_with_old_and_new(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    """Focal point and administrator by turns; a viewer may not (tests/console/test_roles.py)."""
    receipt = untriaged(gw)
    staff = {"focal": signed_in(Role.FOCAL_POINT, "focal"), "admin": signed_in(Role.ADMIN, "admin")}
    path = f"/console/cases/{receipt.case_number}"
    page = staff["focal"].get(path).get_data(as_text=True)
    assert 'name="category"' in page and '<option value="none">Not given</option>' in page
    before = (None, False, False)
    for n, step in enumerate(STEPS):
        name = ("focal", "admin")[n % 2]
        form = dict(zip(FIELDS, step, strict=True))
        after = (None if step[0] == "none" else step[0], step[1] == "yes", step[2] == "yes")
        answer = staff[name].post(f"{path}/triage", **form)
        assert answer.status_code == 302 and "ok=triage" in answer.headers["Location"]
        assert state(gw, receipt.case_id)[:3] == after
        entry = triage_audit(gw)[-1]
        assert (entry.actor, entry.target) == (name, receipt.case_number.replace("-", ""))
        changed = {
            f: {"from": b, "to": a} for f, b, a in zip(FIELDS, before, after, strict=True) if b != a
        }
        assert entry.detail == changed
        page = staff[name].get(f"{path}?ok=triage").get_data(as_text=True)
        assert "Category and urgency saved." in page
        before = after
    assert len(triage_audit(gw)) == len(STEPS)
    history = page.split("<h2>History</h2>")[1].split("</table>")[0]
    assert "Category: Sexual abuse (was Not given)" in history
    assert "Child affected: yes (was no)" in history
    assert "Danger now: yes (was no)" in history
    assert "Category: Not given (was Sexual exploitation)" in history
    with gw.sessions() as db:
        kinds = db.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == receipt.case_id))
        assert list(kinds).count("triaged") == len(STEPS)


def test_an_invalid_value_is_400_and_changes_nothing(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    receipt = untriaged(gw)
    focal = signed_in(Role.FOCAL_POINT)
    path = f"/console/cases/{receipt.case_number}/triage"
    before = state(gw, receipt.case_id)
    same = focal.post(path, category="none", child_involved="no", danger_now="no")
    assert same.status_code == 302 and "ok=" not in same.headers["Location"]
    assert state(gw, receipt.case_id) == before, "the values it has: nothing written"
    answers = {}
    for field, value in INVALID:
        form = {k: v for k, v in {**VALID, field: value}.items() if v is not None}
        answer = focal.post(path, **form)
        answers[(field, repr(value)[:20])] = (answer.status_code, state(gw, receipt.case_id))
    assert {k: v for k, v in answers.items() if v != (400, before)} == {}


def test_no_csrf_no_case_or_a_viewer_changes_nothing(gw, app, signed_in) -> None:  # type: ignore[no-untyped-def]
    receipt = untriaged(gw)
    focal = signed_in(Role.FOCAL_POINT)
    viewer = signed_in(Role.VIEWER)
    path = f"/console/cases/{receipt.case_number}/triage"
    before = state(gw, receipt.case_id)
    assert focal.client.post(path, data=VALID).status_code == 400  # no token
    assert focal.client.post(path, data={**VALID, "csrf": viewer.token}).status_code == 400
    assert viewer.post(path, **VALID).status_code == 403
    assert focal.post("/console/cases/2020-999999-9/triage", **VALID).status_code == 404
    assert state(gw, receipt.case_id)[:4] == before[:4]
    assert triage_audit(gw) == []


def test_the_queue_filter_and_the_tracker_after_triage(
    gw, env, signed_in, tracker, monkeypatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    """The case leaves "Not given"; the tracker got the case once and hears nothing more."""
    receipt = untriaged(gw)
    run_jobs(gw)
    [sent] = tracker.requests
    assert sent.answered == 201 and sent.body["category"] is None
    focal = signed_in(Role.FOCAL_POINT)
    assert receipt.case_number in NUMBER.findall(
        focal.get("/console/cases?category=none").get_data(as_text=True)
    )
    with gw.sessions() as db:
        outbox = db.scalar(select(func.count(OutboxEntry.id)))
    triaged = {"category": "sexual_exploitation", "child_involved": "yes", "danger_now": "no"}
    focal.post(f"/console/cases/{receipt.case_number}/triage", **triaged)
    run_jobs(gw)
    queue = focal.get("/console/cases?category=none").get_data(as_text=True)
    assert receipt.case_number not in NUMBER.findall(queue)
    queue = focal.get("/console/cases?category=sexual_exploitation").get_data(as_text=True)
    assert receipt.case_number in NUMBER.findall(queue)
    with gw.sessions() as db:
        assert db.scalar(select(func.count(OutboxEntry.id))) == outbox  # no event goes out
    assert tracker.requests == [sent]
    export = focal.get(f"/console/cases/{receipt.case_number}/export.zip")
    with zipfile.ZipFile(io.BytesIO(export.data)) as bundle:
        name = next(n for n in bundle.namelist() if n.endswith(".json"))
        exported = json.loads(bundle.read(name))
    assert exported["category"] == "sexual_exploitation"
    assert exported["urgency"] == {"danger_now": False, "child_involved": True}
    monkeypatch.setattr(exports, "FONT_PATHS", ())  # a core font: its text can be read back
    pdf = _pdf_text(focal.get(f"/console/cases/{receipt.case_number}/export.pdf").data)
    pdf = pdf.replace("\\(", "(").replace("\\)", ")")  # PDF string escapes
    assert "Category: Sexual exploitation (was Not given)" in pdf
    assert "Child affected: yes (was no)" in pdf and '"from"' not in pdf
    with gw.sessions() as db:
        assert audit.verify(db) == (True, None)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["audit", "verify", "--data-dir", str(gw.settings.data_dir)]) == 0
    assert "intact" in capsys.readouterr().out
