"""What a reporter answered of the allegation fields reaches the case, through the one
filing path every channel uses (gateway.cases.filing.file_report); an answer never stops
a report (docs/contract.md, "Who did it")."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from gateway.cases.reports import Affected, NewReport
from gateway.core.models import Case
from gateway.work.reporter import submit_report

NOT_ASKED = dict.fromkeys(
    ("personnel_category", "victim_age_group", "victims_count", "incident_date"), None
)


@pytest.mark.parametrize(
    ("allegation", "affected", "expected"),
    [
        ({}, None, {}),
        ({"personnel_category": "police"}, None, {"personnel_category": "police"}),
        ({"personnel_category": "unknown"}, None, {"personnel_category": "unknown"}),
        ({"personnel_category": None}, None, {}),  # skipped: as if not asked
        ({"personnel_category": "soldier"}, None, {}),  # not a value of the field: left out
        (
            {"personnel_category": "army", "victims_count": "3", "incident_date": "2026-11"},
            None,
            {"victims_count": 3, "incident_date": "2026-11"},  # the rest is kept
        ),
        ({"victims_count": "0"}, None, {}),
        ({"victims_count": "many"}, None, {}),
        ({}, Affected.CHILD, {"victim_age_group": "minor"}),  # a child harmed: a minor
        ({"victim_age_group": "unknown"}, Affected.CHILD, {"victim_age_group": "minor"}),
        ({}, Affected.SELF, {}),  # no adult answer is made up
        ({}, Affected.SOMEONE_ELSE, {}),
    ],
)
def test_the_answers_reach_the_case_and_a_bad_one_is_left_out(
    gw, allegation: dict[str, Any], affected: Affected | None, expected: dict[str, Any]
) -> None:  # type: ignore[no-untyped-def]
    report = NewReport(narrative="x", language="en", affected=affected, allegation=allegation)
    receipt = submit_report(gw, report, channel="web")
    with gw.sessions() as session:
        case = session.scalars(select(Case).where(Case.id == receipt.case_id)).one()
        stored = {name: getattr(case, name) for name in NOT_ASKED}
    assert stored == {**NOT_ASKED, **expected}
