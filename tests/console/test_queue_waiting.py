"""Who waits: a case's first view, escalated cases and answers due in the queue, its order.

Through the console's test client signed in as a focal point; the sweeper's
escalation step runs as the sweeper runs it (without alert e-mail settings
here: tests/test_escalation.py sends the mail).
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from gateway.cases import mailbox
from gateway.cases.reports import Affected
from gateway.core.models import Case
from gateway.core.schema import utcnow
from gateway.core.states import Role
from gateway.work.escalation import escalate
from tests.support.filing import received_hours_ago as file

NUMBER = re.compile(r'href="/console/cases/(\d{4}-\d{6}-\d)"')
ESCALATED = "escalated, not opened"


def column(gw, case_id: int, name: str):  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return session.scalar(select(getattr(Case, name)).where(Case.id == case_id))


def listed(html: str) -> list[str]:
    return NUMBER.findall(html)


def test_the_first_view_marks_a_case_opened_and_later_ones_do_not(gw, signed_in, clock) -> None:  # type: ignore[no-untyped-def]
    case_id, number = file(gw)
    focal = signed_in(Role.FOCAL_POINT)
    assert focal.post(f"/console/cases/{number}/note", note="seen later").status_code == 302
    assert column(gw, case_id, "first_opened_at") is None, "an action is not a view"
    assert focal.get(f"/console/cases/{number}").status_code == 200
    first = clock.now
    clock.advance(hours=2)
    assert signed_in(Role.ADMIN).get(f"/console/cases/{number}").status_code == 200
    assert column(gw, case_id, "first_opened_at") == first


def test_an_escalated_case_is_marked_until_someone_opens_it(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    urgent_id, urgent = file(gw, 5, danger_now=True)
    _, plain = file(gw, 5)
    assert escalate(gw) == 1  # ESCALATION_HOURS is 4 by default
    focal = signed_in(Role.FOCAL_POINT)
    page = focal.get("/console/cases").get_data(as_text=True)
    assert page.count(ESCALATED) == 2  # the figure at the top and the case's row
    assert re.search(r"<b>1</b><span class=\"t danger\">escalated, not opened", page)
    assert listed(focal.get("/console/cases?waiting=escalated").get_data(as_text=True)) == [urgent]
    history = focal.get(f"/console/cases/{urgent}").get_data(as_text=True)
    assert "Escalated: urgent and not opened in time" in history
    assert column(gw, urgent_id, "first_opened_at") is not None
    page = focal.get("/console/cases").get_data(as_text=True)
    assert ESCALATED not in page.replace(f">{ESCALATED}</span></a>", "")
    assert listed(focal.get("/console/cases?waiting=escalated").get_data(as_text=True)) == []
    assert set(listed(page)) == {urgent, plain}


def test_an_answer_is_due_when_the_reporter_waited_too_long(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    case_id, number = file(gw)
    _, other = file(gw)
    assert column(gw, case_id, "awaiting_answer_since") is None, "a new report is no reply"
    assert mailbox.reply(gw, case_id, "Are you there?")
    since = column(gw, case_id, "awaiting_answer_since")
    assert since is not None
    assert mailbox.reply(gw, case_id, "Hello?")
    assert column(gw, case_id, "awaiting_answer_since") == since, "waiting since the first"
    focal = signed_in(Role.FOCAL_POINT)
    assert "answer due" not in focal.get("/console/cases").get_data(as_text=True)

    with gw.sessions() as session, session.begin():  # RESPONSE_DUE_DAYS is 7 by default
        old = utcnow() - timedelta(days=8)
        session.execute(update(Case).where(Case.id == case_id).values(awaiting_answer_since=old))
    page = focal.get("/console/cases").get_data(as_text=True)
    assert "answer due" in page and "(8 d)" in page
    assert listed(focal.get("/console/cases?waiting=answer_due").get_data(as_text=True)) == [number]

    assert focal.post(f"/console/cases/{number}/message", message="We are here.").status_code == 302
    assert column(gw, case_id, "awaiting_answer_since") is None
    assert listed(focal.get("/console/cases?waiting=answer_due").get_data(as_text=True)) == []
    assert mailbox.reply(gw, case_id, "Thank you")
    assert column(gw, case_id, "awaiting_answer_since") is not None
    assert (
        focal.post(f"/console/cases/{number}/status", status="closed", reason="done").status_code
        == 302
    )
    assert column(gw, case_id, "awaiting_answer_since") is None
    assert not mailbox.reply(gw, case_id, "and now?"), "a closed case takes no reply"
    assert column(gw, case_id, "awaiting_answer_since") is None
    assert other in listed(focal.get("/console/cases").get_data(as_text=True))


# name: (hours ago, danger now, child affected), in the order the queue lists them
ORDER = [
    ("danger_child_old", 30, True, True),
    ("danger_child_new", 2, True, True),
    ("danger_old", 50, True, False),
    ("danger_new", 1, True, False),
    ("child_old", 70, False, True),
    ("child_mid", 20, False, True),
    ("child_new", 3, False, True),
    ("plain_old", 90, False, False),
    ("plain_new", 4, False, False),
]


def test_each_urgency_level_oldest_first_across_pages(gw, signed_in, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from gateway.console import queue

    monkeypatch.setattr(queue, "PAGE_SIZE", 2)
    names = {}
    for name, hours, danger, child in reversed(ORDER):  # filed newest-listed first
        affected = Affected.CHILD if child else Affected.SELF
        _, number = file(gw, hours, danger_now=danger, affected=affected)
        names[number] = name
    focal = signed_in(Role.FOCAL_POINT)
    seen = []
    for page in range(5):
        seen += listed(focal.get(f"/console/cases?page={page}").get_data(as_text=True))
    assert [names[n] for n in seen] == [name for name, *_ in ORDER]
    urgent = focal.get("/console/cases?urgency=child&page=1").get_data(as_text=True)
    assert [names[n] for n in listed(urgent)] == ["child_old", "child_mid"]
