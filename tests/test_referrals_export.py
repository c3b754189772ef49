"""`complaint-gateway referrals export`: the referrals as CSV, nothing that identifies the reporter.

Run through `gateway.cli.main` as an administrator runs it, against a case
that holds everything that must never leave: the statement, the reporter's
reply address and pseudonym, the referral's note, the focal point's name.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from gateway.cases import referrals
from gateway.cases.referral_export import COLUMNS
from gateway.cases.referrals import Decision, Kind, NewReferral, Received
from gateway.core.accounts import AuditEntry
from gateway.core.models import Case, Referral
from tests.support import filing

STATEMENT = "He said he would give me work if I went with him to the base"
ADDRESS = "+447700900456"
NOTE = "Her sister will bring her; call the clinic nurse first"
STAFF = "focal_amina"


def reported(gw):  # type: ignore[no-untyped-def]
    return filing.by_sms(gw, STATEMENT, "en", ADDRESS)


def refer(gw, case_id: int, service: str, **values) -> int:  # type: ignore[no-untyped-def]
    new = NewReferral(
        service=service,
        kind=values.pop("kind", Kind.MEDICAL),
        offered_on=values.pop("offered_on", date(2026, 3, 2)),
        decision=values.pop("decision", Decision.ACCEPTED),
        assistance_received=values.pop("assistance_received", Received.UNKNOWN),
        follow_up_on=values.pop("follow_up_on", date(2026, 3, 9)),
        note=values.pop("note", NOTE),
    )
    with gw.sessions() as db, db.begin():
        case = db.get(Case, case_id)
        return referrals.add(db, gw, case, new, STAFF).id


def changed_on(gw, referral_id: int, day: date) -> None:
    """Move a referral's last change to `day` (what a change that day would have left)."""
    with gw.sessions() as db, db.begin():
        db.execute(
            update(Referral)
            .where(Referral.id == referral_id)
            .values(updated_at=datetime(day.year, day.month, day.day, 10, 30, tzinfo=UTC))
        )


def test_the_csv_holds_the_referral_and_nothing_that_identifies_the_reporter(gw, cli) -> None:  # type: ignore[no-untyped-def]
    receipt, pseudonym = reported(gw)
    first = refer(gw, receipt.case_id, "District Clinic")
    second = refer(
        gw,
        receipt.case_id,
        "@SUM(A1) counselling",
        kind=Kind.PSYCHOSOCIAL,
        decision=Decision.DECLINED,
        follow_up_on=None,
        note=None,
    )
    changed_on(gw, first, date(2026, 3, 2))
    changed_on(gw, second, date(2026, 3, 4))
    code, out, err = cli("referrals", "export", "--since", "2026-03-01")
    assert code == 0 and "2 referral(s)" in err
    reader = csv.reader(io.StringIO(out))
    assert tuple(next(reader)) == COLUMNS
    rows = [dict(zip(COLUMNS, row, strict=True)) for row in reader]
    with gw.sessions() as db:
        case = db.get(Case, receipt.case_id)
        received_on = case.received_at.astimezone(UTC).date().isoformat()
    assert rows[0] == {
        "referral_id": rows[0]["referral_id"],
        "case_number": receipt.case_number,
        "case_received_on": received_on,
        "case_category": "",
        "child_involved": "no",
        "service": "District Clinic",
        "service_kind": "medical",
        "offered_on": "2026-03-02",
        "decision": "accepted",
        "assistance_received": "unknown",
        "follow_up_on": "2026-03-09",
        "last_updated": "2026-03-02T10:30:00Z",
    }
    assert rows[1]["service"] == "'@SUM(A1) counselling", "a formula is never run by a spreadsheet"
    assert (rows[1]["decision"], rows[1]["follow_up_on"]) == ("declined", "")
    ids = [uuid.UUID(row["referral_id"]) for row in rows]
    assert len(set(ids)) == 2 and str(first) not in {str(i) for i in ids}
    for secret in (STATEMENT, ADDRESS, ADDRESS[1:], pseudonym, NOTE, STAFF, "Her sister"):
        assert secret not in out, secret
    assert cli("referrals", "export", "--since", "2026-03-01")[1] == out, "ids are stable"


def test_the_period_the_output_file_and_the_audit(gw, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    receipt, _pseudonym = reported(gw)
    days = {date(2026, 3, 1): "Early Clinic", date(2026, 3, 5): "Mid Clinic"}
    days[date(2026, 3, 9)] = "Late Clinic"
    for day, service in days.items():
        changed_on(gw, refer(gw, receipt.case_id, service), day)
    target = tmp_path / "out" / "referrals.csv"
    target.parent.mkdir()
    code, out, err = cli(
        "referrals",
        "export",
        "--since",
        "2026-03-05",
        "--until",
        "2026-03-09",
        "--output",
        str(target),
    )
    assert code == 0 and out == "" and str(target) in err
    rows = list(csv.DictReader(target.open(encoding="utf-8", newline="")))
    assert [r["service"] for r in rows] == ["Mid Clinic", "Late Clinic"]
    assert target.stat().st_mode & 0o077 == 0, "readable by the gateway's user alone"
    code, out, _err = cli("referrals", "export", "--since", "2026-03-02", "--until", "2026-03-04")
    assert code == 0 and out.strip() == ",".join(COLUMNS)
    with gw.sessions() as db:
        exports = db.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "referrals.export")
            .order_by(AuditEntry.id)
        ).all()
    assert [(e.actor, e.detail) for e in exports] == [
        ("command-line", {"since": "2026-03-05", "until": "2026-03-09", "rows": 2}),
        ("command-line", {"since": "2026-03-02", "until": "2026-03-04", "rows": 0}),
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["--since", "2026-02-30"],
        ["--since", "05/03/2026"],
        ["--since", "2026-W10-1"],
        ["--since", "2026-03-05", "--until", "yesterday"],
        ["--since", "2026-03-05", "--until", "9999-12-31"],
        [],
    ],
)
def test_a_bad_date_is_refused_in_one_line(gw, cli, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as stopped:
        cli("referrals", "export", *args)
    assert stopped.value.code == 2


def test_until_before_since_is_refused_and_nothing_is_audited(gw, cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("referrals", "export", "--since", "2026-03-05", "--until", "2026-03-04")
    assert code == 2 and out == "" and "--until is before --since" in err
    with gw.sessions() as db:
        assert (
            db.scalars(select(AuditEntry).where(AuditEntry.action == "referrals.export")).all()
            == []
        )
