"""Who may open what: every console route against every role, as one table."""

from __future__ import annotations

import pytest

from gateway.cases.reports import NewAttachment, NewReport
from gateway.core.states import Role
from gateway.work.reporter import submit_report
from tests.console.conftest import Browser, png
from tests.support.jobs import run_jobs

A, F, V, IN, N = "admin", "focal_point", "viewer", "intake", "anonymous"

# (method, rule, path template, form, {role: status}); anonymous GETs go to the sign-in page
# and anonymous POSTs fail the CSRF check before anything else.
ROUTES = [
    ("GET", "/console/", "/console/", {}, {A: 302, F: 302, V: 302, N: 302}),
    ("GET", "/console/login", "/console/login", {}, {A: 302, F: 302, V: 302, N: 200}),
    ("POST", "/console/login", "/console/login", {}, {A: 401, F: 401, V: 401, N: 400}),
    ("GET", "/console/password", "/console/password", {}, {A: 200, F: 200, V: 200, N: 302}),
    ("POST", "/console/password", "/console/password", {}, {A: 400, F: 400, V: 400, N: 400}),
    ("GET", "/console/cases", "/console/cases", {}, {A: 200, F: 200, V: 403, N: 302}),
    (
        "GET",
        "/console/cases/<number>",
        "/console/cases/{case}",
        {},
        {A: 200, F: 200, V: 403, N: 302},
    ),
    (
        "GET",
        "/console/attachments/<int:attachment_id>",
        "/console/attachments/{attachment}",
        {},
        {A: 200, F: 200, V: 403, N: 302},
    ),
    (
        "GET",
        "/console/cases/<number>/export.zip",
        "/console/cases/{case}/export.zip",
        {},
        {A: 200, F: 200, V: 403, N: 302},
    ),
    (
        "GET",
        "/console/cases/<number>/export.pdf",
        "/console/cases/{case}/export.pdf",
        {},
        {A: 200, F: 200, V: 403, N: 302},
    ),
    (
        "POST",
        "/console/cases/<number>/note",
        "/console/cases/{case}/note",
        {"note": "n"},
        {A: 302, F: 302, V: 403, N: 400},
    ),
    (
        "POST",
        "/console/cases/<number>/status",
        "/console/cases/{case}/status",
        {"status": "under_review", "reason": "r"},
        {A: 302, F: 302, V: 403, N: 400},
    ),
    (
        "POST",
        "/console/cases/<number>/assign",
        "/console/cases/{case}/assign",
        {"assignee": ""},
        {A: 302, F: 302, V: 403, N: 400},
    ),
    (
        "POST",
        "/console/cases/<number>/link",
        "/console/cases/{case}/link",
        {"other": "{other}", "kind": "related"},
        {A: 302, F: 302, V: 403, N: 400},
    ),
    (
        "POST",
        "/console/cases/<number>/unlink",
        "/console/cases/{case}/unlink",
        {"other": "{other}"},
        {A: 302, F: 302, V: 403, N: 400},
    ),
    (
        "POST",
        "/console/cases/<number>/message",
        "/console/cases/{case}/message",
        {"message": "Can you call the hotline?"},
        {A: 302, F: 302, V: 403, N: 400},
    ),
    (
        "POST",
        "/console/cases/<number>/triage",
        "/console/cases/{case}/triage",
        {"category": "sexual_abuse", "child_involved": "no", "danger_now": "yes"},
        {A: 302, F: 302, V: 403, N: 400},
    ),
    (
        "POST",
        "/console/cases/<number>/retry",
        "/console/cases/{case}/retry",
        {},
        {A: 302, F: 302, V: 403, N: 400},
    ),
    (
        "POST",
        "/console/cases/<number>/referrals",
        "/console/cases/{case}/referrals",
        {"service": "Clinic", "kind": "medical", "offered_on": "2026-01-05"},
        {A: 302, F: 302, V: 403, N: 400},
    ),
    (
        "POST",
        "/console/cases/<number>/referrals/<int:referral_id>",
        "/console/cases/{case}/referrals/999999",  # no such referral: the role check comes first
        {"decision": "accepted", "assistance_received": "yes", "follow_up_on": ""},
        {A: 404, F: 404, V: 403, N: 400},
    ),
    (
        "GET",
        "/console/referrals.csv",
        "/console/referrals.csv?since=2026-01-01",
        {},
        {A: 200, F: 200, V: 403, N: 302},
    ),
    (
        "GET",
        "/console/exports/cases",
        "/console/exports/cases?since=2026-01-01",
        {},
        {A: 200, F: 200, V: 403, N: 302},
    ),
    (
        "GET",
        "/console/exports/cases.csv",
        "/console/exports/cases.csv?since=2026-01-01",
        {},
        {A: 200, F: 200, V: 403, N: 302},
    ),
    ("GET", "/console/intake", "/console/intake", {}, {A: 200, F: 200, V: 403, IN: 200, N: 302}),
    (
        "POST",
        "/console/intake",
        "/console/intake",
        {"narrative": "told in person", "received_via": "paper"},
        {A: 302, F: 302, V: 403, IN: 302, N: 400},
    ),
    (
        "GET",
        "/console/intake/done",
        "/console/intake/done?t=used-or-unknown",
        {},
        {A: 410, F: 410, V: 403, IN: 410, N: 302},
    ),
    ("GET", "/console/health", "/console/health", {}, {A: 200, F: 200, V: 403, N: 302}),
    (
        "POST",
        "/console/health/retry-forwarding",
        "/console/health/retry-forwarding",
        {},
        {A: 302, F: 302, V: 403, N: 400},
    ),
    (
        "POST",
        "/console/health/retry-inbound",
        "/console/health/retry-inbound",
        {},
        {A: 302, F: 302, V: 403, N: 400},
    ),
    ("GET", "/console/stats", "/console/stats", {}, {A: 200, F: 200, V: 200, N: 302}),
    ("GET", "/console/stats.csv", "/console/stats.csv", {}, {A: 200, F: 200, V: 200, N: 302}),
    ("GET", "/console/users", "/console/users", {}, {A: 200, F: 403, V: 403, N: 302}),
    (
        "POST",
        "/console/users",
        "/console/users",
        {"username": "new_{role}", "role": "viewer"},
        {A: 200, F: 403, V: 403, N: 400},
    ),
    (
        "POST",
        "/console/users/<int:user_id>/<action>",
        "/console/users/{other_user}/unlock",
        {},
        {A: 302, F: 403, V: 403, N: 400},
    ),
    ("GET", "/console/settings", "/console/settings", {}, {A: 200, F: 403, V: 403, N: 302}),
    ("GET", "/console/audit", "/console/audit", {}, {A: 200, F: 403, V: 403, N: 302}),
    (
        "GET",
        "/console/voice-prompts",
        "/console/voice-prompts",
        {},
        {A: 200, F: 403, V: 403, N: 302},
    ),
    (
        "GET",
        "/console/voice-prompts/<locale>",
        "/console/voice-prompts/sw",
        {},
        {A: 200, F: 403, V: 403, N: 302},
    ),
    (
        "POST",
        "/console/voice-prompts/<locale>/<prompt_id>",
        "/console/voice-prompts/sw/welcome",
        {},
        {A: 400, F: 403, V: 403, N: 400},
    ),
    (
        "POST",
        "/console/voice-prompts/<locale>/<prompt_id>/delete",
        "/console/voice-prompts/sw/welcome/delete",
        {},
        {A: 302, F: 403, V: 403, N: 400},
    ),
    (
        "GET",
        "/console/cases/<number>/access",
        "/console/cases/{case}/access",
        {},
        {A: 200, F: 200, V: 403, N: 302},
    ),
    (
        "POST",
        "/console/cases/<number>/restrict",
        "/console/cases/{case}/restrict",
        {"reason": "conflict of interest"},
        {A: 302, F: 302, V: 403, N: 400},
    ),
    (
        "POST",
        "/console/cases/<number>/lift",
        "/console/cases/{case}/lift",
        {"reason": "no conflict after all"},
        {A: 302, F: 302, V: 403, N: 400},
    ),
    (
        "POST",
        "/console/cases/<number>/override",
        "/console/cases/{case}/override",
        {"reason": "not restricted: nothing to override"},
        {A: 302, F: 403, V: 403, N: 400},
    ),
    (
        "POST",
        "/console/cases/<number>/allegation",
        "/console/cases/{case}/allegation",
        {"personnel_category": "police"},
        {A: 302, F: 302, V: 403, N: 400},
    ),
    (  # no reason: refused (400) for an administrator; nothing is erased
        "POST",
        "/console/cases/<number>/erase",
        "/console/cases/{case}/erase",
        {"confirm": "not the number"},
        {A: 400, F: 403, V: 403, N: 400},
    ),
    ("POST", "/console/logout", "/console/logout", {}, {A: 302, F: 302, V: 302, N: 400}),
]

# An intake user files reports and reads nothing: 403 everywhere but these.
INTAKE_OPEN = {
    ("GET", "/console/"): 302,
    ("GET", "/console/login"): 302,
    ("POST", "/console/login"): 401,
    ("GET", "/console/password"): 200,
    ("POST", "/console/password"): 400,
    ("POST", "/console/logout"): 302,
}
ROUTES = [(m, r, p, f, {IN: INTAKE_OPEN.get((m, r), 403), **e}) for m, r, p, f, e in ROUTES]


def test_the_table_covers_every_console_route(app) -> None:  # type: ignore[no-untyped-def]
    routes = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("console.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes == {(method, rule) for method, rule, *_ in ROUTES}


@pytest.mark.parametrize("role", [A, F, V, IN, N])
def test_each_route_answers_each_role_as_the_table_says(gw, app, clock, signed_in, role) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from gateway.core.accounts import User
    from gateway.core.models import Attachment

    report = NewReport(
        narrative="The driver said he would bring food if I came to his room",
        language="en",
        attachments=[NewAttachment("image/png", png())],
    )
    receipt = submit_report(gw, report, channel="web")
    run_jobs(gw)  # the worker cleans the photo into an attachment
    other = submit_report(gw, NewReport(narrative="y", language="en"), channel="web")
    bystander = signed_in(Role.VIEWER, "bystander")
    del bystander
    browser = Browser(app.test_client(), clock) if role == N else signed_in(role)
    with gw.sessions() as session:
        attachment = session.scalars(select(Attachment.id)).one()
        other_user = session.scalars(select(User.id).where(User.username == "bystander")).one()
    values = {
        "case": receipt.case_number,
        "other": other.case_number,
        "attachment": attachment,
        "other_user": other_user,
        "role": role,
    }
    answers = {}
    for method, rule, template, form, expected in ROUTES:
        path = template.format(**values)
        if method == "GET":
            status = browser.get(path).status_code
        else:
            status = browser.post(path, **{k: v.format(**values) for k, v in form.items()})
            status = status.status_code
        answers[(method, rule)] = (status, expected[role])
    wrong = {route: got for route, got in answers.items() if got[0] != got[1]}
    assert wrong == {}, f"(got, expected) for {role}"
