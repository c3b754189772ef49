"""The structured allegation fields on the case page: set by focal points, audited, forwarded.

A focal point or an administrator completes the fields a reporter was not
asked; each save that changes something is one `case.allegation` audit
entry naming the fields (codes for the coded ones, never the area as
typed); a bad value is a 400 naming the field and changes nothing; a viewer
may not. The forwarded JSON carries what the case holds when it is sent.
"""

from __future__ import annotations

import html
import io
import json
import zipfile

import jsonschema
from sqlalchemy import func, select

from gateway.cases import audit
from gateway.cases.allegation import CHOICES, FIELDS
from gateway.cases.reports import NewReport
from gateway.cli import main
from gateway.console import exports
from gateway.console.allegation_labels import FIELD_LABELS, VALUE_LABELS
from gateway.core.accounts import AuditEntry
from gateway.core.models import Case
from gateway.core.states import Role
from gateway.work.reporter import submit_report
from tests.console.test_attachments_exports import _pdf_text
from tests.support.jobs import run_jobs
from tests.support.tracker import SCHEMA

AREA = "Camp Kaga-Bandoro, sector 3"
COMPLETE = {
    "allegation_type": "both",
    "personnel_category": "un_volunteer",
    "victim_age_group": "minor",
    "victims_count": "2",
    "incident_date": "2026-10",
    "incident_area": AREA,
    "paternity_claim": "unknown",
}
STORED = {**COMPLETE, "victims_count": 2}
# (field, value, what the 400 page names): each replaces one field of a complete form.
INVALID = [
    ("allegation_type", "Sexual abuse", "Type of allegation"),
    ("allegation_type", "sexual_abuse\x00", "Type of allegation"),
    ("allegation_type", "exploitation", "Type of allegation"),
    ("personnel_category", "MILITARY", "Category of personnel"),
    ("personnel_category", "none", "Category of personnel"),
    ("victim_age_group", "child", "Age group of the victims"),
    ("victims_count", "0", "Number of victims"),
    ("victims_count", "-1", "Number of victims"),
    ("victims_count", "1000", "Number of victims"),
    ("victims_count", "2.5", "Number of victims"),
    ("victims_count", "two", "Number of victims"),
    ("victims_count", "²", "Number of victims"),  # a digit to isdigit(), not to int()
    ("victims_count", "9" * 5000, "Number of victims"),
    ("incident_date", "2026-13", "Date of the incident"),
    ("incident_date", "10/2026", "Date of the incident"),
    ("incident_date", "2026-02-30x", "Date of the incident"),
    ("incident_date", "last week", "Date of the incident"),
    ("incident_area", "x" * 101, "Area of the incident"),
    ("incident_area", "line one\nline two", "Area of the incident"),
    ("incident_area", "line one\u2028line two", "Area of the incident"),
    ("incident_area", "\u202eNorth", "Area of the incident"),  # reads "htroN" elsewhere
    ("incident_area", "North\x1b[31m", "Area of the incident"),
    ("paternity_claim", "maybe", "Paternity or child-support claim"),
]


def a_case(gw):  # type: ignore[no-untyped-def]
    """A case as a discreet SMS conversation files it: no allegation field asked."""
    report = NewReport(narrative="It was at the distribution on Friday", language="en")
    return submit_report(gw, report, channel="sms")


def fields_of(gw, case_id: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with gw.sessions() as db:
        case = db.get(Case, case_id)
        return {name: getattr(case, name) for name in FIELDS}


def allegation_audit(gw) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with gw.sessions() as db:
        return list(
            db.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "case.allegation")
                .order_by(AuditEntry.id)
            )
        )


def audit_count(gw) -> int:  # type: ignore[no-untyped-def]
    with gw.sessions() as db:
        return db.scalar(select(func.count(AuditEntry.id))) or 0


def test_every_code_has_a_label() -> None:
    assert {name: tuple(labels) for name, labels in VALUE_LABELS.items()} == CHOICES
    assert tuple(FIELD_LABELS) == FIELDS


def test_set_shown_audited_and_the_chain_holds(gw, signed_in, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    receipt = a_case(gw)
    focal, admin = signed_in(Role.FOCAL_POINT, "focal"), signed_in(Role.ADMIN, "admin")
    path = f"/console/cases/{receipt.case_number}"
    page = focal.get(path).get_data(as_text=True)
    assert '<h2 id="allegation">Allegation</h2>' in page
    assert '<option value="">Not asked</option><option value="sexual_exploitation">' in page
    assert fields_of(gw, receipt.case_id) == dict.fromkeys(FIELDS)

    answer = focal.post(f"{path}/allegation", **COMPLETE)
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"{path}?ok=allegation#allegation")
    assert fields_of(gw, receipt.case_id) == STORED
    [entry] = allegation_audit(gw)
    assert (entry.actor, entry.target) == ("focal", receipt.case_number.replace("-", ""))
    assert entry.detail == {
        "fields": list(FIELDS),
        "changes": {
            name: {"from": None, "to": value}
            for name, value in STORED.items()
            if name != "incident_area"
        },
    }
    assert "Kaga" not in str(entry.detail)

    page = html.unescape(admin.get(f"{path}?ok=allegation").get_data(as_text=True))
    assert "Allegation details saved." in page
    assert '<option value="both" selected>Both sexual exploitation and abuse</option>' in page
    assert '<option value="un_volunteer" selected>UN volunteer</option>' in page
    assert '<option value="minor" selected>Minor (under 18)</option>' in page
    assert 'name="victims_count" value="2"' in page and f'value="{AREA}"' in page

    # The administrator corrects two fields and clears one; the area is named, never quoted.
    changed = {
        **COMPLETE,
        "personnel_category": "police",
        "incident_area": "Bria",
        "incident_date": "",
    }
    assert admin.post(f"{path}/allegation", **changed).status_code == 302
    after = fields_of(gw, receipt.case_id)
    assert (after["personnel_category"], after["incident_area"], after["incident_date"]) == (
        "police",
        "Bria",
        None,
    )
    entry = allegation_audit(gw)[-1]
    assert entry.actor == "admin"
    assert entry.detail == {
        "fields": ["personnel_category", "incident_date", "incident_area"],
        "changes": {
            "personnel_category": {"from": "un_volunteer", "to": "police"},
            "incident_date": {"from": "2026-10", "to": None},
        },
    }
    assert "Bria" not in str(entry.detail)

    # The same values again: nothing written. A field left out of the post stays as it is.
    before = audit_count(gw)
    same = admin.post(f"{path}/allegation", **changed)
    assert same.status_code == 302 and "ok=" not in same.headers["Location"]
    assert audit_count(gw) == before
    assert focal.post(f"{path}/allegation", victims_count="5").status_code == 302
    assert fields_of(gw, receipt.case_id) == {**after, "victims_count": 5}
    assert allegation_audit(gw)[-1].detail == {
        "fields": ["victims_count"],
        "changes": {"victims_count": {"from": 2, "to": 5}},
    }
    export = focal.get(f"{path}/export.zip")
    with zipfile.ZipFile(io.BytesIO(export.data)) as bundle:
        name = next(n for n in bundle.namelist() if n.endswith(".json"))
        assert json.loads(bundle.read(name))["allegation"] == fields_of(gw, receipt.case_id)
    monkeypatch.setattr(exports, "FONT_PATHS", ())  # a core font: its text can be read back
    pdf = _pdf_text(focal.get(f"{path}/export.pdf").data)
    assert "Category of personnel" in pdf and "Police" in pdf
    assert "Date of the incident" in pdf and "Not asked" in pdf and "Bria" in pdf
    with gw.sessions() as db:
        assert audit.verify(db) == (True, None)


def test_a_bad_value_is_400_naming_the_field_and_changes_nothing(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    receipt = a_case(gw)
    focal = signed_in(Role.FOCAL_POINT)
    path = f"/console/cases/{receipt.case_number}/allegation"
    before = (fields_of(gw, receipt.case_id), audit_count(gw))
    wrong = {}
    for field, value, named in INVALID:
        answer = focal.post(path, **{**COMPLETE, field: value})
        shown = html.unescape(answer.get_data(as_text=True))
        after = (fields_of(gw, receipt.case_id), audit_count(gw))
        if (answer.status_code, named in shown, after) != (400, True, before):
            wrong[(field, repr(value)[:20])] = (answer.status_code, named in shown)
    assert wrong == {}


def test_the_error_names_the_field_in_the_users_language(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    receipt = a_case(gw)
    focal = signed_in(Role.FOCAL_POINT)
    answer = focal.client.post(
        f"/console/cases/{receipt.case_number}/allegation",
        data={"csrf": focal.token, "victims_count": "many"},
        headers={"Accept-Language": "fr"},
    )
    assert answer.status_code == 400
    text = html.unescape(answer.get_data(as_text=True))
    assert "Number of victims" not in text and "999" in text


def test_no_csrf_no_case_or_a_viewer_changes_nothing(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    receipt = a_case(gw)
    focal = signed_in(Role.FOCAL_POINT)
    viewer = signed_in(Role.VIEWER)
    intake = signed_in(Role.INTAKE)
    path = f"/console/cases/{receipt.case_number}/allegation"
    before = audit_count(gw)
    assert focal.client.post(path, data=COMPLETE).status_code == 400  # no token
    assert viewer.post(path, **COMPLETE).status_code == 403
    assert intake.post(path, **COMPLETE).status_code == 403
    assert viewer.get(f"/console/cases/{receipt.case_number}").status_code == 403
    assert focal.post("/console/cases/2020-999999-9/allegation", **COMPLETE).status_code == 404
    assert fields_of(gw, receipt.case_id) == dict.fromkeys(FIELDS)
    assert allegation_audit(gw) == [] and audit_count(gw) == before


def test_cases_show_prints_the_codes(gw, env, signed_in, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    receipt = a_case(gw)
    signed_in(Role.FOCAL_POINT).post(f"/console/cases/{receipt.case_number}/allegation", **COMPLETE)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    data_dir = str(gw.settings.data_dir)
    assert main(["cases", "show", receipt.case_number, "--json", "--data-dir", data_dir]) == 0
    assert json.loads(capsys.readouterr().out)["allegation"] == STORED
    assert main(["cases", "show", receipt.case_number, "--data-dir", data_dir]) == 0
    assert "allegation: {'allegation_type': 'both'," in capsys.readouterr().out


def test_the_forwarded_case_carries_the_fields_and_validates(gw, signed_in, tracker) -> None:  # type: ignore[no-untyped-def]
    """Set before the case is sent: in the JSON; not asked: null; later changes: not sent."""
    untouched, completed = a_case(gw), a_case(gw)
    focal = signed_in(Role.FOCAL_POINT)
    focal.post(f"/console/cases/{completed.case_number}/allegation", **COMPLETE)
    run_jobs(gw)
    assert len(tracker.requests) == 2
    assert all(r.schema_error is None for r in tracker.requests)
    for request in tracker.requests:
        jsonschema.validate(request.body, SCHEMA)
    assert tracker.cases[untouched.case_number]["allegation"] == dict.fromkeys(FIELDS)
    assert tracker.cases[completed.case_number]["allegation"] == STORED
    focal.post(f"/console/cases/{completed.case_number}/allegation", victims_count="3")
    run_jobs(gw)
    assert len(tracker.requests) == 2
