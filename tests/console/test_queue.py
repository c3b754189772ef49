"""The queue: order for triage, filters, the figures at the top, no reporter details."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from gateway.cases.reports import Affected, Category, NewReport
from gateway.core.accounts import User
from gateway.core.models import Case
from gateway.core.schema import utcnow
from gateway.core.states import Role
from gateway.work.reporter import submit_report

NUMBER = re.compile(r'href="/console/cases/(\d{4}-\d{6}-\d)"')

# name: (hours ago, danger now, affected, category, channel, language, status)
CASES = {
    "old_plain": (72, False, None, None, "web", "en", "received"),
    "new_plain": (1, False, Affected.SELF, Category.OTHER_MISCONDUCT, "sms", "fr", "received"),
    "old_child": (48, False, Affected.CHILD, Category.SEXUAL_ABUSE, "web", "fr", "in_progress"),
    "new_child": (2, False, Affected.CHILD, Category.SEXUAL_EXPLOITATION, "web", "en", "received"),
    "old_danger": (96, True, Affected.SELF, Category.SEXUAL_ABUSE, "sms", "en", "referred"),
    "new_danger_child": (3, True, Affected.CHILD, None, "telegram", "sw", "received"),
    "closed": (5, True, Affected.CHILD, Category.SEXUAL_ABUSE, "web", "en", "closed"),
}


@pytest.fixture
def cases(gw) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The cases above, filed through the mailbox, numbers by name."""
    numbers = {}
    now = utcnow()
    for name, (hours, danger, affected, category, channel, language, status) in CASES.items():
        report = NewReport(
            narrative=f"statement {name}",
            language=language,
            category=category,
            affected=affected,
            danger_now=danger,
        )
        receipt = submit_report(gw, report, channel=channel)
        with gw.sessions() as session, session.begin():
            session.execute(
                update(Case)
                .where(Case.id == receipt.case_id)
                .values(received_at=now - timedelta(hours=hours), status=status)
            )
        numbers[name] = receipt.case_number
    return numbers


def listed(page: str, cases: dict[str, str]) -> list[str]:
    names = {number: name for name, number in cases.items()}
    return [names[n] for n in NUMBER.findall(page)]


def test_danger_first_then_a_child_each_oldest_first(signed_in, cases) -> None:  # type: ignore[no-untyped-def]
    page = signed_in(Role.FOCAL_POINT).get("/console/cases").get_data(as_text=True)
    assert listed(page, cases) == [
        "new_danger_child",
        "old_danger",
        "old_child",
        "new_child",
        "old_plain",
        "new_plain",
    ]
    assert "statement" not in page, "the queue shows no report text"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=all", set(CASES)),
        ("status=closed", {"closed"}),
        ("status=received", {"old_plain", "new_plain", "new_child", "new_danger_child"}),
        ("channel=sms", {"new_plain", "old_danger"}),
        ("language=fr", {"new_plain", "old_child"}),
        ("category=sexual_abuse", {"old_child", "old_danger"}),
        ("category=none", {"old_plain", "new_danger_child"}),
        ("urgency=danger", {"old_danger", "new_danger_child"}),
        ("urgency=child", {"old_child", "new_child", "new_danger_child"}),
        ("urgency=not_urgent", {"old_plain", "new_plain"}),
        ("assignee=none", set(CASES) - {"closed"}),
        ("assignee=me", set()),
        ("urgency=urgent&channel=web", {"old_child", "new_child"}),
        ("from={today}", {"new_plain", "new_child", "new_danger_child"}),
        ("to={three_days_ago}", {"old_danger", "old_plain"}),
        ("status=bogus&urgency=bogus", set(CASES) - {"closed"}),
    ],
)
def test_filters(signed_in, cases, query, expected) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    if (now - timedelta(hours=3)).date() != now.date():
        pytest.skip("too close to midnight UTC for the date filters of this table")
    query = query.format(
        today=now.date().isoformat(),
        three_days_ago=(now - timedelta(days=3)).date().isoformat(),
    )
    page = signed_in(Role.FOCAL_POINT).get(f"/console/cases?{query}").get_data(as_text=True)
    assert set(listed(page, cases)) == expected


def test_assignee_filter_and_figures(gw, signed_in, cases) -> None:  # type: ignore[no-untyped-def]
    focal = signed_in(Role.FOCAL_POINT, "fatou")
    page = focal.get(f"/console/cases/{cases['old_child']}").get_data(as_text=True)
    user_id = re.search(r'<option value="(\d+)">fatou</option>', page).group(1)
    focal.post(f"/console/cases/{cases['old_child']}/assign", assignee=user_id)
    mine = focal.get("/console/cases?assignee=me").get_data(as_text=True)
    assert listed(mine, cases) == ["old_child"]
    by_id = focal.get(f"/console/cases?assignee={user_id}").get_data(as_text=True)
    assert listed(by_id, cases) == ["old_child"]
    figures = re.findall(r"<b>(\d+)</b>", focal.get("/console/cases").get_data(as_text=True))
    # open, danger now, child, unassigned, then per status, then failed forwarding
    assert figures[:4] == ["6", "2", "3", "5"]


def test_the_queue_pages(gw, signed_in, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from gateway.console import queue

    monkeypatch.setattr(queue, "PAGE_SIZE", 2)
    for i in range(5):
        submit_report(gw, NewReport(narrative=f"n{i}", language="en"), channel="web")
    focal = signed_in(Role.FOCAL_POINT)
    seen = []
    for page in range(3):
        html = focal.get(f"/console/cases?page={page}").get_data(as_text=True)
        seen += NUMBER.findall(html)
        assert ("Next page" in html) == (page < 2)
    assert len(set(seen)) == 5


def test_a_full_page_of_the_queue_stays_small_for_a_slow_link(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    """25 cases with every column filled in: under 20 KB of HTML, nothing else to fetch."""
    from gateway.console.queue import PAGE_SIZE

    focal = signed_in(Role.FOCAL_POINT, "a_focal_point_with_a_long_name")
    for i in range(PAGE_SIZE + 5):
        report = NewReport(
            narrative="a long statement that the queue never shows " * 20,
            language="fr",
            category=Category.SEXUAL_EXPLOITATION,
            affected=Affected.CHILD if i % 2 else Affected.SOMEONE_ELSE,
            danger_now=i % 3 == 0,
            follow_up=True,
        )
        receipt = submit_report(gw, report, channel="web")
        with gw.sessions() as session, session.begin():
            me = session.execute(select(User.id).where(User.username.like("a_focal%"))).scalar()
            session.execute(update(Case).where(Case.id == receipt.case_id).values(assignee_id=me))
    page = focal.get("/console/cases")
    html = page.get_data(as_text=True)
    assert len(set(NUMBER.findall(html))) == PAGE_SIZE and "Next page" in html
    assert len(page.data) < 20 * 1024, f"{len(page.data)} bytes"
    assert "<script" not in html and "<link" not in html and " src=" not in html
    case_page = focal.get(f"/console/cases/{receipt.case_number}")
    assert len(case_page.data) < 12 * 1024, f"{len(case_page.data)} bytes"
