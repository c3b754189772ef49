"""`complaint-gateway cases export --format mts-csv`: every case for headquarters, no person in it.

Run through `gateway.cli.main` as the server's operator runs it, against
cases that hold everything that must never leave: a statement with a
word found nowhere else, the reporter's reply address and pseudonym, a
referral's note and the focal point's name.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from gateway.cases import referrals
from gateway.cases.mts_export import COLUMNS
from gateway.cases.referrals import Decision, Kind, NewReferral, Received
from gateway.cases.reports import NewReport
from gateway.core.accounts import AuditEntry
from gateway.core.models import Case
from gateway.work.reporter import submit_report
from tests.support import filing

STATEMENT = "The quartermaster Okonkwabe promised rice if I came to the depot at night"
ADDRESS = "+447700900789"
NOTE = "Her aunt will bring her to the clinic on Tuesday"
STAFF = "focal_zainab"
FIELDS = {
    "allegation_type": "sexual_exploitation",
    "personnel_category": "contractor",
    "victim_age_group": "minor",
    "victims_count": 2,
    "incident_date": "2026-02",
    "incident_area": '=HYPERLINK("http://x") North camp',
    "paternity_claim": "no",
}


def by_sms(gw):  # type: ignore[no-untyped-def]
    return filing.by_sms(gw, STATEMENT, "fr", ADDRESS)


def by_web(gw, narrative: str = "Another report about the depot"):  # type: ignore[no-untyped-def]
    return submit_report(gw, NewReport(narrative=narrative, language="en"), channel="web")


def change(gw, case_id: int, **values) -> None:  # type: ignore[no-untyped-def]
    with gw.sessions() as db, db.begin():
        db.execute(update(Case).where(Case.id == case_id).values(**values))


def received(gw, case_id: int, moment: datetime) -> None:
    change(gw, case_id, received_at=moment)


def refer(gw, case_id: int) -> None:  # type: ignore[no-untyped-def]
    new = NewReferral(
        service="District Clinic",
        kind=Kind.MEDICAL,
        offered_on=date(2026, 3, 2),
        decision=Decision.ACCEPTED,
        assistance_received=Received.UNKNOWN,
        follow_up_on=None,
        note=NOTE,
    )
    with gw.sessions() as db, db.begin():
        referrals.add(db, gw, db.get(Case, case_id), new, STAFF)


def parsed(out: str) -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(out))
    assert tuple(next(reader)) == COLUMNS
    return [dict(zip(COLUMNS, row, strict=True)) for row in reader]


def exports(gw) -> list[tuple[str, dict]]:  # type: ignore[no-untyped-def]
    with gw.sessions() as db:
        entries = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "cases.export").order_by(AuditEntry.id)
        ).all()
        return [(e.actor, e.detail) for e in entries]


def test_the_csv_holds_the_fields_and_nothing_that_identifies_the_reporter(gw, cli) -> None:  # type: ignore[no-untyped-def]
    sms, pseudonym = by_sms(gw)
    web = by_web(gw)
    received(gw, sms.case_id, datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC))
    received(gw, web.case_id, datetime(2026, 3, 3, 0, 0, tzinfo=UTC))
    change(gw, sms.case_id, danger_now=True, category="sexual_abuse", **FIELDS)
    change(
        gw,
        web.case_id,
        restricted=True,
        status="closed",
        closed_at=datetime(2026, 3, 20, 8, tzinfo=UTC),
    )
    refer(gw, sms.case_id)
    code, out, err = cli("cases", "export", "--format", "mts-csv", "--since", "2026-03-01")
    assert code == 0 and "2 case(s)" in err
    rows = parsed(out)
    assert rows[0] == {
        "case_number": sms.case_number,
        "received_on": "2026-03-02",
        "channel": "sms",
        "received_via": "",
        "language": "fr",
        "status": "received",
        "closed_on": "",
        "category": "sexual_abuse",
        "allegation_type": "sexual_exploitation",
        "personnel_category": "contractor",
        "victim_age_group": "minor",
        "victims_count": "2",
        "incident_date": "2026-02",
        "incident_area": '\'=HYPERLINK("http://x") North camp',
        "paternity_claim": "no",
        "danger_now": "yes",
        "child_involved": "no",
        "referral": "yes",
        "restricted": "no",
        "content_purged_on": "",
        "erased_on": "",
    }
    assert (rows[1]["case_number"], rows[1]["received_on"]) == (web.case_number, "2026-03-03")
    assert (rows[1]["status"], rows[1]["closed_on"]) == ("closed", "2026-03-20")
    assert (rows[1]["referral"], rows[1]["restricted"]) == ("no", "yes"), "the operator sees all"
    assert rows[1]["allegation_type"] == rows[1]["victims_count"] == "", "not asked: empty"
    for secret in ("Okonkwabe", "quartermaster", ADDRESS, ADDRESS[1:], pseudonym, NOTE, STAFF):
        assert secret not in out, secret
    assert exports(gw) == [
        (
            "command-line",
            {"format": "mts-csv", "since": "2026-03-01", "until": None, "rows": 2},
        )
    ]


def test_the_period_is_inclusive_and_the_file_private(gw, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    days = {
        datetime(2026, 3, 4, 23, 59, 59, tzinfo=UTC): "before",
        datetime(2026, 3, 5, 0, 0, tzinfo=UTC): "first day",
        datetime(2026, 3, 9, 23, 59, 59, tzinfo=UTC): "last day",
        datetime(2026, 3, 10, 0, 0, tzinfo=UTC): "after",
    }
    numbers = {}
    for moment, word in days.items():
        receipt = by_web(gw, f"Report filed {word}")
        received(gw, receipt.case_id, moment)
        numbers[word] = receipt.case_number
    target = tmp_path / "out" / "cases.csv"
    target.parent.mkdir()
    args = ["--since", "2026-03-05", "--until", "2026-03-09", "--output", str(target)]
    code, out, err = cli("cases", "export", "--format", "mts-csv", *args)
    assert code == 0 and out == "" and str(target) in err
    with target.open(encoding="utf-8", newline="") as opened:
        rows = list(csv.DictReader(opened))
    assert [r["case_number"] for r in rows] == [numbers["first day"], numbers["last day"]]
    assert target.stat().st_mode & 0o077 == 0, "readable by the gateway's user alone"
    code, out, _err = cli(
        "cases", "export", "--format", "mts-csv", "--since", "2026-03-06", "--until", "2026-03-06"
    )
    assert code == 0 and out.strip() == ",".join(COLUMNS)
    assert [detail["rows"] for _actor, detail in exports(gw)] == [2, 0]


@pytest.mark.parametrize(
    "args",
    [
        ["--since", "2026-03-01"],
        ["--format", "csv", "--since", "2026-03-01"],
        ["--format", "mts-csv"],
        ["--format", "mts-csv", "--since", "2026-02-30"],
        ["--format", "mts-csv", "--since", "01/03/2026"],
        ["--format", "mts-csv", "--since", "2026-03-05", "--until", "tomorrow"],
        ["--format", "mts-csv", "--since", "2026-03-05", "--until", "9999-12-31"],
    ],
)
def test_bad_arguments_are_refused(gw, cli, args: list[str], capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as stopped:
        cli("cases", "export", *args)
    assert stopped.value.code == 2
    assert exports(gw) == []


def test_until_before_since_is_refused_in_one_line(gw, cli) -> None:  # type: ignore[no-untyped-def]
    by_web(gw)
    code, out, err = cli(
        "cases", "export", "--format", "mts-csv", "--since", "2026-03-05", "--until", "2026-03-04"
    )
    assert (code, out) == (2, "") and err.strip() == "error: --until is before --since"
    assert exports(gw) == []
