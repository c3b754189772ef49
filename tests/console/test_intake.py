"""`/console/intake`: a report a person received, filed in the console, from outside.

A focal point files it through the form, gets the case number and PIN once
(a reload shows them no more), and they work on `/status` and by SMS STATUS;
the tracker receives the case with channel `in_person` and how it was
received, and not who received it; an intake user may file and nothing else.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re

import pytest
from sqlalchemy import func, select

from gateway.core.accounts import AuditEntry, User
from gateway.core.models import Case, CaseEvent
from gateway.core.states import Role
from gateway.work.reporter import message_reporter
from tests.channels.web_form.nojs import Browser as WebBrowser
from tests.channels.web_form.test_status import look_up
from tests.console.conftest import png
from tests.support.jobs import run_jobs

NONCE = re.compile(r'name="nonce" value="([^"]+)"')
SLIP_VALUES = re.compile(r'<p class="b" dir="ltr">([^<]+)</p>')
STATEMENT = "He said he would give food if she came to the camp at night"


def set_raw(gw, **values: str) -> None:  # type: ignore[no-untyped-def]
    gw.settings = dataclasses.replace(gw.settings, raw={**gw.settings.raw, **values})


def fill(browser, lang: str = "", **fields: str):  # type: ignore[no-untyped-def]
    """Open the form (in `lang`) and send it with `fields`; the response to the POST."""
    page = browser.get(f"/console/intake?lang={lang}" if lang else "/console/intake")
    assert page.status_code == 200, page.status_code
    nonce = NONCE.search(page.get_data(as_text=True))
    assert nonce
    form = {"received_via": "in_person", "follow_up": "no", "nonce": nonce.group(1), **fields}
    if lang:
        form.setdefault("lang", lang)
    return browser.post("/console/intake", **form)


def slip_of(browser, response) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """Follow the redirect to the result page: (case number, PIN as typed, the page)."""
    assert response.status_code == 302, response.get_data(as_text=True)
    page = browser.get(response.headers["Location"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    number, pin = SLIP_VALUES.findall(html)
    return number, pin.replace(" ", ""), html


def cases(gw) -> int:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return session.scalar(select(func.count()).select_from(Case)) or 0


def test_a_focal_point_files_and_the_number_and_pin_work_everywhere(
    gw, app, signed_in, tracker, phone
) -> None:  # type: ignore[no-untyped-def]
    browser = signed_in(Role.FOCAL_POINT, "amina")
    response = fill(
        browser,
        narrative=STATEMENT,
        received_via="paper",
        category="sexual_exploitation",
        affected="self",
        danger="no",
        location="Bangui, PK5",
        follow_up="focal_point",
    )
    location = response.headers["Location"]
    number, pin, html = slip_of(browser, response)
    assert re.fullmatch(r"\d{4}-\d{6}-\d", number) and re.fullmatch(r"\d{6}", pin)
    assert STATEMENT not in html and "PK5" not in html  # the slip names nothing of the report
    assert "http://gateway.test/status" in html
    again = browser.get(location)  # a reload, or the back button
    assert again.status_code == 410 and pin not in again.get_data(as_text=True)

    run_jobs(gw)
    sent = tracker.cases[number]
    assert sent["channel"] == "in_person" and sent["received_via"] == "paper"
    assert "amina" not in json.dumps(sent)
    assert all(r.schema_error is None for r in tracker.requests)

    web = WebBrowser(app.test_client())
    assert number in look_up(web, number, pin).get_data(as_text=True)
    phone.send(f"STATUS {number} {pin}")
    assert number in phone.inbox[-1]

    with gw.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert (case.channel, case.received_via, case.follow_up) == ("in_person", "paper", True)
        assert case.reply_address_enc is None and case.sender_pseudonym is None
        filed = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).first()
        assert filed is not None and filed.actor == "amina"
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "case.intake")).one()
        assert entry.actor == "amina" and entry.target == case.case_number
        assert entry.detail == {"received_via": "paper", "source": "console"}
    queue = browser.get("/console/cases").get_data(as_text=True)
    assert "Received by a person" in queue and "on a paper form" in queue


def test_the_form_and_slip_speak_the_complainants_language(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    browser = signed_in(Role.FOCAL_POINT)
    form = browser.get("/console/intake?lang=fr").get_data(as_text=True)
    assert "Que s" in form and 'lang="fr"' in form  # "Que s'est-il passé ?"
    number, _pin, html = slip_of(browser, fill(browser, lang="fr", narrative=STATEMENT))
    assert "STATUT" not in html or number in html  # SMS line only with a public SMS number
    with gw.sessions() as session:
        assert session.scalars(select(Case.language)).one() == "fr"


def test_an_intake_user_lands_on_the_form_and_reads_nothing(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    browser = signed_in(Role.INTAKE, "cbcn_member")
    assert browser.get("/console/").headers["Location"].endswith("/console/intake")
    page = browser.get("/console/intake").get_data(as_text=True)
    assert "/console/cases" not in page and "/console/stats" not in page
    for path in ("/console/cases", "/console/stats", "/console/health", "/console/users"):
        assert browser.get(path).status_code == 403, path
    number, _pin, _html = slip_of(browser, fill(browser, narrative=STATEMENT))
    assert browser.get(f"/console/cases/{number}").status_code == 403


def test_an_sms_follow_up_keeps_the_number_only_encrypted_and_answers_by_sms(
    gw, app, signed_in, provider_api, caplog
) -> None:  # type: ignore[no-untyped-def]
    browser = signed_in(Role.FOCAL_POINT)
    refused = fill(browser, narrative=STATEMENT, follow_up="sms", phone="+236 72 00 11 22")
    assert refused.status_code == 400 and "no SMS service" in refused.get_data(as_text=True)
    set_raw(gw, **provider_api.settings(), GATEWAY_PUBLIC_SMS_NUMBER="+15005550006")
    bad = fill(browser, narrative=STATEMENT, follow_up="sms", phone="call me")
    assert bad.status_code == 400 and "country code" in bad.get_data(as_text=True)
    assert cases(gw) == 0
    number, pin, _html = slip_of(
        browser, fill(browser, narrative=STATEMENT, follow_up="sms", phone="+236 72 00 11 22")
    )
    with gw.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert case.reply_address_enc is not None and b"23672" not in case.reply_address_enc
        assert case.sender_pseudonym == gw.pseudonyms.pseudonym("sms", "+23672001122")
        case_id = case.id
    assert message_reporter(gw, case_id, "Please come to the office on Monday.", "amina")
    run_jobs(gw)
    sent = provider_api.sent(to="+23672001122")
    assert [provider_api.text_of(c) for c in sent] == ["Please come to the office on Monday."]
    assert "+23672001122" not in caplog.text and pin not in caplog.text
    assert STATEMENT not in caplog.text


@pytest.mark.parametrize(
    ("label", "fields", "files", "status", "shown"),
    [
        ("no statement, no file", {"narrative": ""}, None, 400, "what happened"),
        ("a file of a type not taken", {"narrative": ""}, b"MZ\x90\x00not a photo", 415, "files"),
        ("a received_via not offered", {"received_via": "carrier_pigeon"}, None, 400, ""),
        ("a follow-up not offered", {"follow_up": "telepathy"}, None, 400, ""),
        ("a number of victims", {"victims_count": "many"}, None, 400, "Number of victims"),
        ("a personnel category", {"personnel_category": "soldier"}, None, 400, "Category of"),
        ("an incident date", {"incident_date": "yesterday"}, None, 400, "Date of the incident"),
    ],
)
def test_bad_input_is_refused_and_files_nothing(
    gw, signed_in, label, fields, files, status, shown
) -> None:  # type: ignore[no-untyped-def]
    browser = signed_in(Role.FOCAL_POINT)
    page = browser.get("/console/intake").get_data(as_text=True)
    form = {
        "csrf": browser.token,
        "nonce": NONCE.search(page).group(1),  # type: ignore[union-attr]
        "received_via": "paper",
        "follow_up": "no",
        "narrative": STATEMENT,
        **fields,
    }
    data = {**form, "files": (io.BytesIO(files), "x.bin")} if files else form
    response = browser.client.post("/console/intake", data=data)
    assert response.status_code == status, label
    assert shown in response.get_data(as_text=True)
    assert cases(gw) == 0


def test_a_photo_of_the_paper_form_goes_with_the_case_and_csrf_is_required(
    gw, signed_in, tracker
) -> None:  # type: ignore[no-untyped-def]
    browser = signed_in(Role.FOCAL_POINT)
    no_csrf = browser.client.post("/console/intake", data={"narrative": STATEMENT})
    assert no_csrf.status_code == 400 and cases(gw) == 0
    page = browser.get("/console/intake").get_data(as_text=True)
    data = {
        "csrf": browser.token,
        "nonce": NONCE.search(page).group(1),  # type: ignore[union-attr]
        "received_via": "paper",
        "follow_up": "no",
        "narrative": "",
        "files": (io.BytesIO(png()), "form.png"),
    }
    number, _pin, _html = slip_of(browser, browser.client.post("/console/intake", data=data))
    run_jobs(gw)
    assert len(tracker.cases[number]["attachments"]) == 1


ALLEGATION = {
    "allegation_type": "sexual_exploitation",
    "personnel_category": "contractor",
    "victim_age_group": "adult",
    "victims_count": "1",
    "incident_date": "2026-11-02",
    "incident_area": "Bangui, PK5",
    "paternity_claim": "no",
}


def test_the_allegation_fields_are_filed_with_the_case_and_sent(gw, signed_in, tracker) -> None:  # type: ignore[no-untyped-def]
    browser = signed_in(Role.FOCAL_POINT)
    form = browser.get("/console/intake?lang=fr").get_data(as_text=True)
    assert 'name="personnel_category"' in form and 'name="incident_area"' in form
    assert "Category of personnel" not in form  # in the complainant's language
    error = fill(browser, narrative=STATEMENT, **{**ALLEGATION, "victims_count": "0"})
    page = error.get_data(as_text=True)
    assert error.status_code == 400 and cases(gw) == 0
    assert '<option value="contractor" selected>' in page and 'value="Bangui, PK5"' in page
    number, _pin, html = slip_of(browser, fill(browser, narrative=STATEMENT, **ALLEGATION))
    assert "PK5" not in html
    with gw.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert {name: getattr(case, name) for name in ALLEGATION} == {
            **ALLEGATION,
            "victims_count": 1,
        }
    run_jobs(gw)
    assert tracker.cases[number]["allegation"] == {**ALLEGATION, "victims_count": 1}
    assert all(r.schema_error is None for r in tracker.requests)


def test_a_form_sent_twice_files_one_case(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    browser = signed_in(Role.FOCAL_POINT)
    page = browser.get("/console/intake").get_data(as_text=True)
    form = {
        "nonce": NONCE.search(page).group(1),  # type: ignore[union-attr]
        "received_via": "in_person",
        "follow_up": "no",
        "narrative": STATEMENT,
    }
    assert browser.post("/console/intake", **form).status_code == 302
    assert browser.post("/console/intake", **form).status_code == 409
    assert cases(gw) == 1


def test_files_over_the_limits_are_refused_with_413_and_file_nothing(gw, app, signed_in) -> None:  # type: ignore[no-untyped-def]
    browser = signed_in(Role.FOCAL_POINT)
    gw.settings = dataclasses.replace(gw.settings, max_upload_bytes=1024)
    page = browser.get("/console/intake").get_data(as_text=True)
    form = {
        "csrf": browser.token,
        "nonce": NONCE.search(page).group(1),  # type: ignore[union-attr]
        "received_via": "paper",
        "follow_up": "no",
        "narrative": STATEMENT,
    }
    big_photo = png() + b"\0" * 2048
    over = browser.client.post(
        "/console/intake", data={**form, "files": (io.BytesIO(big_photo), "form.png")}
    )
    assert over.status_code == 413 and STATEMENT in over.get_data(as_text=True)  # kept as typed
    app.config["MAX_CONTENT_LENGTH"] = 100_000
    whole = browser.client.post(
        "/console/intake", data={**form, "files": (io.BytesIO(b"\0" * 200_000), "x.png")}
    )
    assert whole.status_code == 413
    assert cases(gw) == 0


def test_an_administrator_creates_an_intake_user(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in(Role.ADMIN)
    assert 'value="intake"' in admin.get("/console/users").get_data(as_text=True)
    created = admin.post("/console/users", username="cbcn_bria", role="intake")
    assert created.status_code == 200
    with gw.sessions() as session:
        role = session.scalars(select(User.role).where(User.username == "cbcn_bria")).one()
    assert role == "intake"
