"""Restricted cases: named users only, 403 for everyone else, an audited override."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest
from redis import from_url as redis_from_url
from sqlalchemy import func, select, update

from gateway.cases import audit
from gateway.cases.reports import Category, NewAttachment, NewReport
from gateway.core.accounts import AuditEntry, User
from gateway.core.models import Attachment, Case, CaseAccess, CaseEvent, CaseLink, Referral
from gateway.core.states import Role
from gateway.work.reporter import submit_report
from tests.console.conftest import Browser, csrf_of, make_user, png
from tests.support.jobs import run_jobs

NARRATIVE = "The logistics officer of the camp asked for sex in exchange for a food card"
LOCATION = "Sector 4, behind the clinic"
REASON = "conflict of interest: a colleague of the accused"

# Every route that takes a case number or an attachment id:
# (method, path, form, the named user's answer).
# The restriction's own routes come last, and lifting last of all.
ROUTES = [
    ("GET", "/console/cases/{case}", {}, 200),
    ("GET", "/console/cases/{case}/access", {}, 200),
    ("GET", "/console/attachments/{attachment}", {}, 200),
    ("GET", "/console/cases/{case}/export.zip", {}, 200),
    ("GET", "/console/cases/{case}/export.pdf", {}, 200),
    ("POST", "/console/cases/{case}/status", {"status": "under_review", "reason": "r"}, 302),
    (
        "POST",
        "/console/cases/{case}/triage",
        {"category": "sexual_abuse", "child_involved": "yes", "danger_now": "yes"},
        302,
    ),
    ("POST", "/console/cases/{case}/assign", {"assignee": "{me}"}, 302),
    ("POST", "/console/cases/{case}/note", {"note": "spoke to the focal point"}, 302),
    ("POST", "/console/cases/{case}/link", {"other": "{other}", "kind": "related"}, 302),
    ("POST", "/console/cases/{case}/unlink", {"other": "{other}"}, 302),
    ("POST", "/console/cases/{case}/message", {"message": "Please call the hotline."}, 302),
    ("POST", "/console/cases/{case}/retry", {}, 302),
    (
        "POST",
        "/console/cases/{case}/referrals",
        {"service": "Clinic", "kind": "medical", "offered_on": "2026-01-05"},
        302,
    ),
    (
        "POST",
        "/console/cases/{case}/referrals/{referral}",
        {"decision": "accepted", "assistance_received": "yes", "follow_up_on": ""},
        302,
    ),
    ("POST", "/console/cases/{case}/allegation", {"victims_count": "2"}, 302),
    ("POST", "/console/cases/{case}/restrict", {"reason": "one more named"}, 302),
    ("POST", "/console/cases/{case}/lift", {"reason": "the conflict is over"}, 302),
]


def user_id(gw, username: str) -> int:  # type: ignore[no-untyped-def]
    with gw.sessions() as db:
        return db.scalars(select(User.id).where(User.username == username)).one()


def restrict(browser: Browser, number: str, *users: int, reason: str = REASON):  # type: ignore[no-untyped-def]
    return browser.client.post(
        f"/console/cases/{number}/restrict",
        data={"csrf": browser.token, "reason": reason, "users": [str(u) for u in users]},
    )


def snapshot(gw, number: str) -> tuple:  # type: ignore[no-untyped-def,type-arg]
    """Everything an action could change on the case, and the audit trail's length."""
    with gw.sessions() as db:
        case = db.scalars(select(Case).where(Case.case_number == number.replace("-", ""))).one()
        count = db.scalar
        return (
            case.status,
            case.category,
            case.danger_now,
            case.assignee_id,
            case.victims_count,
            case.restricted,
            count(select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case.id)),
            count(select(func.count(CaseLink.id))),
            count(select(func.count(Referral.id)).where(Referral.case_id == case.id)),
            tuple(db.scalars(select(CaseAccess.user_id).where(CaseAccess.case_id == case.id))),
            count(select(func.count(AuditEntry.id))),
        )


def entries(gw, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with gw.sessions() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.fixture
def world(gw, signed_in):  # type: ignore[no-untyped-def]
    """A restricted case (with a photo and a referral) named to alice; an open case; users."""
    report = NewReport(
        narrative=NARRATIVE,
        language="en",
        category=Category.SEXUAL_EXPLOITATION,
        location=LOCATION,
        attachments=[NewAttachment("image/png", png())],
    )
    receipt = submit_report(gw, report, channel="web")
    run_jobs(gw)
    other = submit_report(gw, NewReport(narrative="another case", language="en"), channel="web")
    alice = signed_in(Role.FOCAL_POINT, "alice")
    added = alice.post(
        f"/console/cases/{receipt.case_number}/referrals",
        service="Clinic",
        kind="medical",
        offered_on="2026-01-05",
    )
    assert added.status_code == 302
    assert restrict(alice, receipt.case_number).status_code == 302
    with gw.sessions() as db:
        attachment = db.scalars(select(Attachment.id)).one()
        referral = db.scalars(select(Referral.id)).one()
    return {
        "case": receipt.case_number,
        "other": other.case_number,
        "attachment": attachment,
        "referral": referral,
        "alice": alice,
    }


def test_restricting_names_the_one_who_restricts_and_is_audited_with_the_reason(  # type: ignore[no-untyped-def]
    gw, world
) -> None:
    alice = user_id(gw, "alice")
    with gw.sessions() as db:
        case = db.scalars(select(Case).where(Case.case_number == world["case"].replace("-", "")))
        assert case.one().restricted
        assert list(db.scalars(select(CaseAccess.user_id))) == [alice]
        assert audit.verify(db) == (True, None)
    (entry,) = entries(gw, "case.restrict")
    assert entry.actor == "alice" and entry.target == world["case"].replace("-", "")
    assert entry.detail == {"users": [alice], "added": [alice], "removed": [], "reason": REASON}
    page = world["alice"].get(f"/console/cases/{world['case']}").get_data(as_text=True)
    assert NARRATIVE in page and "Only the users named on it may open this case." in page
    form = world["alice"].get(f"/console/cases/{world['case']}/access").get_data(as_text=True)
    assert f'value="{alice}" checked disabled' in form and "Lift the restriction" in form


@pytest.mark.parametrize("role", ["focal_point", "admin", "viewer"])
def test_everyone_not_named_gets_403_everywhere_and_changes_nothing(  # type: ignore[no-untyped-def]
    gw, world, signed_in, role
) -> None:
    outsider = signed_in(Role(role), "outsider")
    values = {**world, "me": str(user_id(gw, "outsider"))}
    before = snapshot(gw, world["case"])
    answers = {}
    for method, template, form, _named in ROUTES:
        path = template.format(**values)
        if method == "GET":
            response = outsider.get(path)
        else:
            response = outsider.post(path, **{k: v.format(**values) for k, v in form.items()})
        html = response.get_data(as_text=True)
        assert NARRATIVE not in html and LOCATION not in html and "Sexual exploitation" not in html
        answers[(method, template)] = response.status_code
    assert answers == {(method, template): 403 for method, template, *_ in ROUTES}
    assert snapshot(gw, world["case"]) == before


def test_the_named_focal_point_can_do_everything(gw, world) -> None:  # type: ignore[no-untyped-def]
    alice = world["alice"]
    values = {**world, "me": str(user_id(gw, "alice"))}
    answers = {}
    for method, template, form, expected in ROUTES:
        path = template.format(**values)
        if method == "GET":
            status = alice.get(path).status_code
        else:
            status = alice.post(path, **{k: v.format(**values) for k, v in form.items()})
            status = status.status_code
        answers[template] = (status, expected)
    assert {k: v for k, v in answers.items() if v[0] != v[1]} == {}
    (lifted,) = entries(gw, "case.lift")
    assert lifted.detail == {"users": [user_id(gw, "alice")], "reason": "the conflict is over"}


def test_the_403_page_is_the_same_for_every_restricted_case(gw, world, signed_in) -> None:  # type: ignore[no-untyped-def]
    assert restrict(world["alice"], world["other"]).status_code == 302
    bob = signed_in(Role.FOCAL_POINT, "bob")
    first = bob.get(f"/console/cases/{world['case']}").get_data(as_text=True)
    second = bob.get(f"/console/cases/{world['other']}").get_data(as_text=True)
    assert first == second and "restricted to the users named on it" in first
    assert "reason" not in first  # no override form for a focal point
    missing = bob.get("/console/cases/2026-999999-9")
    assert missing.status_code == 404


def test_an_administrator_overrides_with_a_reason_for_an_hour(  # type: ignore[no-untyped-def]
    gw, world, signed_in, clock
) -> None:
    admin = signed_in(Role.ADMIN, "root")
    page = f"/console/cases/{world['case']}"
    refused = admin.get(page)
    assert refused.status_code == 403 and "Open it as an administrator" in refused.get_data(
        as_text=True
    )
    for reason in ("", "   ", "x" * 301):
        answer = admin.post(f"{page}/override", reason=reason)
        assert answer.status_code == 400
    assert admin.get(page).status_code == 403 and entries(gw, "case.override") == []
    assert admin.post(f"{page}/override", reason="investigation unit asked").status_code == 302
    (entry,) = entries(gw, "case.override")
    assert entry.actor == "root" and entry.detail == {"reason": "investigation unit asked"}
    for path in (page, f"/console/attachments/{world['attachment']}", f"{page}/export.zip"):
        assert admin.get(path).status_code == 200, path
    assert NARRATIVE in admin.get(page).get_data(as_text=True)
    # the override ends after an hour even while the session goes on
    for _ in range(2):
        clock.advance(minutes=25)
        assert admin.get(page).status_code == 200
    clock.advance(minutes=25)
    assert admin.get(page).status_code == 403
    # a focal point cannot override
    bob = signed_in(Role.FOCAL_POINT, "bob")
    assert bob.post(f"{page}/override", reason="I want to see").status_code == 403
    with gw.sessions() as db:
        assert audit.verify(db) == (True, None)


def test_an_override_while_redis_is_away_is_refused_not_a_500(  # type: ignore[no-untyped-def]
    gw, app, world, signed_in
) -> None:
    """The override is kept in Redis: with Redis away it answers 503, and the case stays closed."""
    admin = signed_in(Role.ADMIN, "root")
    page = f"/console/cases/{world['case']}"
    app.extensions["gateway"] = replace(gw, redis=redis_from_url("redis://127.0.0.1:1/0"))
    assert admin.get(page).status_code == 403
    assert admin.post(f"{page}/override", reason="investigation unit asked").status_code == 503
    assert admin.get(page).status_code == 403
    (entry,) = entries(gw, "case.override")  # asked and audited, though not kept
    assert entry.detail == {"reason": "investigation unit asked"}


def test_signing_out_ends_an_override(gw, app, world, clock) -> None:  # type: ignore[no-untyped-def]
    user = make_user(gw, Role.ADMIN, "root")
    with gw.sessions() as db, db.begin():
        db.execute(update(User).where(User.username == "root").values(must_change_password=False))
    admin = Browser(app.test_client(), clock)
    page = f"/console/cases/{world['case']}"
    for _ in range(2):
        assert admin.login(user).status_code == 302
        admin.token = csrf_of(admin.get("/console/stats").get_data(as_text=True))
        assert admin.get(page).status_code == 403  # the second time: a new session
        assert admin.post(f"{page}/override", reason="audit of the unit").status_code == 302
        assert admin.get(page).status_code == 200
        assert admin.post("/console/logout").status_code == 302
    assert len(entries(gw, "case.override")) == 2


def test_the_queue_shows_the_number_and_restricted_and_nothing_else(gw, world, signed_in) -> None:  # type: ignore[no-untyped-def]
    bob = signed_in(Role.FOCAL_POINT, "bob")
    link = f'href="/console/cases/{world["case"]}"'
    for query in ("", "?category=sexual_exploitation", "?status=all"):
        html = bob.get(f"/console/cases{query}").get_data(as_text=True)
        table, _, apart = html.partition('id="restricted"')
        assert world["case"] not in table and link not in html
        block = apart.split("</div>")[0]
        assert world["case"] in block and "restricted" in block
        assert not re.search(r"Sexual|Web form|\ben\b|danger|child", block)
    named = world["alice"].get("/console/cases").get_data(as_text=True)
    assert link in named and 'id="restricted"' not in named
    admin = signed_in(Role.ADMIN, "root")
    assert link in admin.get("/console/cases").get_data(as_text=True)  # to the override form


def test_linking_never_reveals_a_restricted_case(gw, world, signed_in) -> None:  # type: ignore[no-untyped-def]
    bob = signed_in(Role.FOCAL_POINT, "bob")
    visible = f"/console/cases/{world['other']}"
    tried = bob.post(f"{visible}/link", other=world["case"], kind="related")
    missing = bob.post(f"{visible}/link", other="2026-999999-9", kind="related")
    assert tried.status_code == missing.status_code == 302
    assert tried.headers["Location"] == missing.headers["Location"]
    with gw.sessions() as db:
        assert db.scalar(select(func.count(CaseLink.id))) == 0
    alice = world["alice"]
    assert alice.post(f"{visible}/link", other=world["case"], kind="duplicate").status_code == 302
    html = bob.get(visible).get_data(as_text=True)
    assert world["case"] in html and f'href="/console/cases/{world["case"]}"' not in html
    assert bob.post(f"{visible}/unlink", other=world["case"]).status_code == 302
    with gw.sessions() as db:
        assert db.scalar(select(func.count(CaseLink.id))) == 1
    assert f'href="/console/cases/{world["case"]}"' in alice.get(visible).get_data(as_text=True)


def test_the_referrals_csv_leaves_out_a_case_restricted_to_others(gw, world, signed_in) -> None:  # type: ignore[no-untyped-def]
    since = date.today().replace(day=1).isoformat()
    bob = signed_in(Role.FOCAL_POINT, "bob")
    theirs = bob.get(f"/console/referrals.csv?since={since}").get_data(as_text=True)
    mine = world["alice"].get(f"/console/referrals.csv?since={since}").get_data(as_text=True)
    assert world["case"] in mine and world["case"] not in theirs
    assert len(theirs.splitlines()) == 1  # the header only


@pytest.mark.parametrize(
    "form",
    [
        {"reason": ""},
        {"reason": "x" * 301},
        {"reason": REASON, "users": ["not-an-id"]},
        {"reason": REASON, "users": ["{viewer}"]},
        {"reason": REASON, "users": ["999999"]},
    ],
)
def test_a_bad_restriction_is_refused_and_changes_nothing(gw, world, signed_in, form) -> None:  # type: ignore[no-untyped-def]
    signed_in(Role.VIEWER, "watcher")
    viewer = str(user_id(gw, "watcher"))
    alice = world["alice"]
    before = snapshot(gw, world["case"])
    users = [u.format(viewer=viewer) for u in form.get("users", [])]
    answer = alice.client.post(
        f"/console/cases/{world['case']}/restrict",
        data={"csrf": alice.token, "reason": form["reason"], "users": users},
    )
    assert answer.status_code == 400
    assert snapshot(gw, world["case"]) == before


@pytest.mark.parametrize("reason", ["", "  ", "x" * 301])
def test_lifting_without_a_reason_is_refused(gw, world, reason) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(gw, world["case"])
    lifted = world["alice"].post(f"/console/cases/{world['case']}/lift", reason=reason)
    assert lifted.status_code == 400 and "at most 300 characters" in lifted.get_data(as_text=True)
    assert snapshot(gw, world["case"]) == before


def test_naming_another_user_and_removing_them_is_audited(gw, world, signed_in) -> None:  # type: ignore[no-untyped-def]
    carol = signed_in(Role.FOCAL_POINT, "carol")
    carol_id, alice_id = user_id(gw, "carol"), user_id(gw, "alice")
    page = f"/console/cases/{world['case']}"
    assert carol.get(page).status_code == 403
    assert restrict(world["alice"], world["case"], carol_id).status_code == 302
    assert carol.get(page).status_code == 200
    assert restrict(carol, world["case"]).status_code == 302  # carol keeps herself, drops alice
    assert world["alice"].get(page).status_code == 403
    last = entries(gw, "case.restrict")[-1]
    assert last.actor == "carol"
    assert last.detail == {
        "users": [carol_id],
        "added": [],
        "removed": [alice_id],
        "reason": REASON,
    }
