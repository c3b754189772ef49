"""Referrals on the case page: recorded, changed, audited, refused when wrong, and followed up.

A focal point records each referral of the person who reported to a help
service and later its outcome; each add and change is one audit entry
without the note's text. A bad value is a 400 that names the field and
changes nothing. The queue counts and lists the cases whose referrals are
due for follow-up; the console's CSV holds the referral and nothing that
identifies the reporter.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.cases import audit, referrals
from gateway.cases.reports import NewReport
from gateway.cli import main
from gateway.core.accounts import AuditEntry
from gateway.core.models import Case, Referral
from gateway.core.states import CaseStatus, Role
from gateway.work.reporter import submit_report

FIXTURE = Path(__file__).parents[1] / "fixtures" / "assistance" / "services.yaml"
STATEMENT = "The driver said he would bring food if I came to his room"
NOTE = "Went with her aunt; the clinic asked to see her again on Monday"
DUE_FIGURE = re.compile(r'<a href="\?referrals=due"><b>(\d+)</b>')
NUMBER = re.compile(r"/console/cases/(\d{4}-\d{6,}-\d)\"")


def with_directory(test):  # type: ignore[no-untyped-def]
    """Run this test with ASSISTANCE_FILE set to the test directory of services."""
    test.with_directory = True
    return test


@pytest.fixture
def env(env: dict[str, str], request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    if getattr(request.function, "with_directory", False):
        copy = tmp_path / "services.yaml"
        copy.write_bytes(FIXTURE.read_bytes())
        return {**env, "ASSISTANCE_FILE": str(copy)}
    return env


def new_case(gw, statement: str = STATEMENT):  # type: ignore[no-untyped-def]
    return submit_report(gw, NewReport(narrative=statement, language="en"), channel="web")


def state(gw) -> tuple[object, ...]:  # type: ignore[no-untyped-def]
    """Every referral's values and how many audit entries exist."""
    with gw.sessions() as db:
        rows = db.execute(
            select(
                Referral.id,
                Referral.service,
                Referral.kind,
                Referral.offered_on,
                Referral.decision,
                Referral.assistance_received,
                Referral.follow_up_on,
                Referral.note_enc,
            ).order_by(Referral.id)
        ).all()
        return tuple(rows), db.scalar(select(func.count(AuditEntry.id)))


def entries(gw, prefix: str = "referral") -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with gw.sessions() as db:
        return list(
            db.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.startswith(prefix))
                .order_by(AuditEntry.id)
            )
        )


def valid(clock, **changes: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    today = clock.now.date()
    form = {
        "service": "District Clinic",
        "kind": "medical",
        "offered_on": today.isoformat(),
        "decision": "accepted",
        "assistance_received": "unknown",
        "follow_up_on": (today + timedelta(days=3)).isoformat(),
        "note": NOTE,
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def test_a_referral_is_recorded_changed_shown_and_audited(gw, clock, signed_in) -> None:  # type: ignore[no-untyped-def]
    receipt = new_case(gw)
    focal, admin = signed_in(Role.FOCAL_POINT, "focal"), signed_in(Role.ADMIN, "admin")
    path = f"/console/cases/{receipt.case_number}"
    page = focal.get(path).get_data(as_text=True)
    assert 'id="referrals"' in page and "No referral recorded yet." in page
    assert '<input name="service"' in page, "no directory configured: the service is free text"
    answer = focal.post(f"{path}/referrals", **valid(clock))
    assert answer.status_code == 302 and "ok=referral_added" in answer.headers["Location"]
    with gw.sessions() as db:
        row = db.scalars(select(Referral)).one()
        assert (row.service, row.kind, row.decision, row.assistance_received) == (
            "District Clinic",
            "medical",
            "accepted",
            "unknown",
        )
        assert row.created_by == "focal" and NOTE.encode() not in row.note_enc
        assert gw.cipher.decrypt(row.note_enc).decode() == NOTE
        referral_id, offered = row.id, row.offered_on
    [added] = entries(gw)
    assert (added.actor, added.action, added.target) == (
        "focal",
        "referral.add",
        receipt.case_number.replace("-", ""),
    )
    assert added.detail == {
        "referral": referral_id,
        "service": "District Clinic",
        "kind": "medical",
        "offered_on": offered.isoformat(),
        "decision": "accepted",
        "assistance_received": "unknown",
        "follow_up_on": (offered + timedelta(days=3)).isoformat(),
        "note": True,
    }
    page = focal.get(f"{path}?ok=referral_added").get_data(as_text=True)
    assert "Referral recorded." in page and "District Clinic" in page and NOTE in page
    update = f"{path}/referrals/{referral_id}"
    changed = {"decision": "accepted", "assistance_received": "yes", "follow_up_on": ""}
    answer = admin.post(update, **changed)
    assert answer.status_code == 302 and "ok=referral_updated" in answer.headers["Location"]
    last = entries(gw)[-1]
    assert (last.actor, last.action) == ("admin", "referral.update")
    assert last.detail == {
        "referral": referral_id,
        "assistance_received": {"from": "unknown", "to": "yes"},
        "follow_up_on": {"from": (offered + timedelta(days=3)).isoformat(), "to": None},
    }
    before = state(gw)
    again = admin.post(update, **changed)  # the same values: nothing to write
    assert again.status_code == 302 and "ok=" not in again.headers["Location"]
    assert state(gw) == before
    assert all(NOTE not in str(entry.detail) for entry in entries(gw, ""))
    with gw.sessions() as db:
        assert audit.verify(db) == (True, None)


BAD_ADD = [
    ("offered_on", "2026-13-01"),
    ("offered_on", "05/01/2026"),
    ("offered_on", "2026-W01-1"),
    ("offered_on", "20260105"),
    ("offered_on", ""),
    ("offered_on", None),
    ("offered_on", "1999-12-31"),
    ("follow_up_on", "9999-12-31"),
    ("offered_on", "+tomorrow"),  # replaced by tomorrow's date below: not in the future
    ("follow_up_on", "2026-02-30"),
    ("follow_up_on", "next week"),
    ("follow_up_on", "-yesterday"),  # before the day offered
    ("kind", "food"),
    ("kind", ""),
    ("decision", "maybe"),
    ("assistance_received", "true"),
    ("service", ""),
    ("service", "   "),
    ("service", None),
    ("service", "x" * 201),
    ("service", "Clinic\x00"),
    ("note", "n" * 1001),
]


def test_bad_input_is_400_names_the_field_and_changes_nothing(gw, clock, signed_in) -> None:  # type: ignore[no-untyped-def]
    receipt = new_case(gw)
    focal = signed_in(Role.FOCAL_POINT)
    path = f"/console/cases/{receipt.case_number}/referrals"
    assert focal.post(path, **valid(clock)).status_code == 302
    today = clock.now.date()
    relative = {
        "+tomorrow": (today + timedelta(days=1)).isoformat(),
        "-yesterday": (today - timedelta(days=1)).isoformat(),
    }
    before = state(gw)
    answers = {}
    for field, value in BAD_ADD:
        form = valid(clock, **{field: relative.get(value, value)})  # type: ignore[arg-type]
        if value is None:
            form.pop(field, None)
        answer = focal.post(path, **form)
        answers[(field, repr(value)[:20])] = (answer.status_code, state(gw))
        assert answer.status_code != 400 or "<h1>400</h1>" in answer.get_data(as_text=True)
    assert {k: v for k, v in answers.items() if v != (400, before)} == {}
    referral_id = before[0][0][0]
    update = f"{path}/{referral_id}"
    good = {"decision": "declined", "assistance_received": "no", "follow_up_on": ""}
    for field, value in [
        ("follow_up_on", "2026-13-01"),
        ("follow_up_on", "1999-01-01"),
        ("decision", ""),
        ("assistance_received", "maybe"),
    ]:
        answer = focal.post(update, **{**good, field: value})
        assert (answer.status_code, state(gw)) == (400, before), (field, value)
    page = focal.post(update, **{**good, "follow_up_on": "31/12/2026"}).get_data(as_text=True)
    assert "follow-up date as YYYY-MM-DD" in page
    assert focal.post(f"{path}/{referral_id + 1}", **good).status_code == 404
    assert focal.post(f"{path}/{2**64}", **good).status_code == 404
    other = new_case(gw, "another report")
    elsewhere = f"/console/cases/{other.case_number}/referrals/{referral_id}"
    assert focal.post(elsewhere, **good).status_code == 404, "a referral of another case"
    assert state(gw) == before


def test_no_csrf_a_viewer_or_an_intake_user_changes_nothing(gw, clock, signed_in) -> None:  # type: ignore[no-untyped-def]
    receipt = new_case(gw)
    focal = signed_in(Role.FOCAL_POINT)
    path = f"/console/cases/{receipt.case_number}/referrals"
    assert focal.post(path, **valid(clock)).status_code == 302
    viewer, intake = signed_in(Role.VIEWER), signed_in(Role.INTAKE)
    before = state(gw)  # after the sign-ins, which are audited too
    update = f"{path}/{before[0][0][0]}"
    change = {"decision": "declined", "assistance_received": "no", "follow_up_on": ""}
    for who in (viewer, intake):
        assert who.post(path, **valid(clock)).status_code == 403
        assert who.post(update, **change).status_code == 403
        assert who.get(f"/console/cases/{receipt.case_number}").status_code == 403
        assert who.get("/console/referrals.csv?since=2026-01-01").status_code == 403
        assert who.get("/console/cases?referrals=due").status_code == 403
    assert focal.client.post(path, data=valid(clock)).status_code == 400  # no token
    assert focal.client.post(update, data={**change, "csrf": viewer.token}).status_code == 400
    assert state(gw) == before


@with_directory
def test_the_directory_gives_a_pick_list_and_the_kind(gw, clock, signed_in) -> None:  # type: ignore[no-untyped-def]
    receipt = new_case(gw)
    focal = signed_in(Role.FOCAL_POINT)
    path = f"/console/cases/{receipt.case_number}"
    page = focal.get(path).get_data(as_text=True)
    assert '<select name="service">' in page
    assert '<option value="Counselling Centre">Counselling Centre (North)</option>' in page
    picked = valid(clock, service="Counselling Centre", kind="")
    assert focal.post(f"{path}/referrals", **picked).status_code == 302
    other = valid(clock, service="", service_other="Women's group, market street", kind="other")
    assert focal.post(f"{path}/referrals", **other).status_code == 302
    before = state(gw)
    assert [(r[1], r[2]) for r in before[0]] == [
        ("Counselling Centre", "psychosocial"),
        ("Women's group, market street", "other"),
    ]
    for wrong in (
        valid(clock, service="A clinic not in the file"),
        valid(clock, service="", service_other=""),
        valid(clock, service="", service_other="Somewhere", kind=""),
    ):
        assert focal.post(f"{path}/referrals", **wrong).status_code == 400
    assert state(gw) == before


def due_count(browser) -> int:  # type: ignore[no-untyped-def]
    match = DUE_FIGURE.search(browser.get("/console/cases").get_data(as_text=True))
    assert match, "no referrals figure on the queue"
    return int(match.group(1))


def listed(browser, query: str) -> set[str]:  # type: ignore[no-untyped-def]
    return set(NUMBER.findall(browser.get(f"/console/cases?{query}").get_data(as_text=True)))


def test_the_queue_counts_and_lists_cases_due_for_follow_up(gw, clock, signed_in) -> None:  # type: ignore[no-untyped-def]
    focal = signed_in(Role.FOCAL_POINT)
    today = clock.now.date()
    day = lambda n: (today + timedelta(days=n)).isoformat()  # noqa: E731
    cases = {name: new_case(gw, name).case_number for name in ("due", "later", "done", "closed")}
    plan = {
        "due": [valid(clock, follow_up_on=day(0)), valid(clock, follow_up_on=day(0))],
        "later": [valid(clock, follow_up_on=day(5)), valid(clock, follow_up_on="")],
        "done": [valid(clock, follow_up_on=day(0), assistance_received="yes")],
        "closed": [valid(clock, follow_up_on=day(0))],
    }
    for name, forms in plan.items():
        for form in forms:
            answer = focal.post(f"/console/cases/{cases[name]}/referrals", **form)
            assert answer.status_code == 302
    with gw.sessions() as db, db.begin():
        db.scalars(select(Case).where(Case.case_number == cases["closed"].replace("-", ""))).one()
        db.execute(
            Case.__table__.update()
            .where(Case.case_number == cases["closed"].replace("-", ""))
            .values(status=CaseStatus.CLOSED.value)
        )
    assert due_count(focal) == 1, "two due referrals of one case count once; closed not counted"
    assert listed(focal, "referrals=due") == {cases["due"]}
    assert listed(focal, "referrals=due&status=all") == {cases["due"], cases["closed"]}
    assert listed(focal, "") == set(cases.values()) - {cases["closed"]}
    with gw.sessions() as db:
        found = referrals.due(db, today)
        assert {db.get(Case, r.case_id).case_number for r in found} == {
            cases["due"].replace("-", "")
        }
        assert len(found) == 2
    clock.advance(days=5)
    focal = signed_in(Role.FOCAL_POINT, "focal_next_week")  # the first session has expired
    assert due_count(focal) == 2
    assert listed(focal, "referrals=due") == {cases["due"], cases["later"]}
    with gw.sessions() as db:
        due_id = db.scalars(
            select(Referral.id)
            .join(Case, Case.id == Referral.case_id)
            .where(Case.case_number == cases["later"].replace("-", ""))
            .where(Referral.follow_up_on.is_not(None))
        ).one()
    settled = {"decision": "accepted", "assistance_received": "no", "follow_up_on": day(5)}
    focal.post(f"/console/cases/{cases['later']}/referrals/{due_id}", **settled)
    assert due_count(focal) == 1 and listed(focal, "referrals=due") == {cases["due"]}


def test_a_referral_from_the_console_is_in_both_exports_without_the_reporter(
    gw, env, clock, signed_in, monkeypatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    receipt = new_case(gw)
    focal = signed_in(Role.FOCAL_POINT, "focal_amina")
    formula = valid(clock, service='=HYPERLINK("http://x.test")', kind="legal")
    path = f"/console/cases/{receipt.case_number}/referrals"
    for form in (valid(clock), formula):
        assert focal.post(path, **form).status_code == 302
    since = clock.now.date().isoformat()
    answer = focal.get(f"/console/referrals.csv?since={since}")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    text = answer.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["service"] for r in rows] == ["District Clinic", '\'=HYPERLINK("http://x.test")']
    assert {r["case_number"] for r in rows} == {receipt.case_number}
    assert rows[0]["decision"] == "accepted" and rows[0]["offered_on"] == since
    for secret in (STATEMENT, NOTE, "focal_amina", "Went with"):
        assert secret not in text
    [entry] = entries(gw, "referrals.export")
    assert entry.actor == "focal_amina" and entry.detail == {
        "since": since,
        "until": None,
        "rows": 2,
    }
    for bad in (
        "",
        "?since=2026-02-30",
        "?since=2026-03-02&until=2026-03-01",
        "?since=tomorrow",
        "?since=2026-03-01&until=9999-12-31",
    ):
        assert focal.get(f"/console/referrals.csv{bad}").status_code == 400
    assert len(entries(gw, "referrals.export")) == 1
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    data_dir = str(gw.settings.data_dir)
    assert main(["referrals", "export", "--since", since, "--data-dir", data_dir]) == 0
    out = capsys.readouterr().out
    assert list(csv.DictReader(io.StringIO(out))) == rows


@with_directory
def test_a_directory_broken_since_start_up_leaves_free_text(gw, clock, signed_in) -> None:  # type: ignore[no-untyped-def]
    receipt = new_case(gw)
    focal = signed_in(Role.FOCAL_POINT)
    path = f"/console/cases/{receipt.case_number}"
    assert '<select name="service">' in focal.get(path).get_data(as_text=True)
    Path(gw.settings.get("ASSISTANCE_FILE")).write_text("services:\n  - name: [unclosed\n")
    page = focal.get(path)
    assert page.status_code == 200 and '<input name="service"' in page.get_data(as_text=True)
    answer = focal.post(f"{path}/referrals", **valid(clock, service="District Clinic"))
    assert answer.status_code == 302
    assert [(r[1], r[2]) for r in state(gw)[0]] == [("District Clinic", "medical")]
