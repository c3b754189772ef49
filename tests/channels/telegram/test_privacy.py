"""After a whole Telegram flow, the reporter's identity is nowhere in clear.

Chat id, user name, first and last name: not in any database column that is
not encrypted, not in a Redis key, not in a job's arguments, not in the
logs (at DEBUG, where python-telegram-bot would print request parameters);
the bot token and the report's text are not in the logs either.
"""

from __future__ import annotations

import logging

from sqlalchemy import LargeBinary, select

from gateway.core.models import Case
from gateway.core.schema import Base
from gateway.work.reporter import message_reporter
from tests.channels.telegram.conftest import TOKEN, USER
from tests.channels.telegram.test_conversation import STATEMENT
from tests.channels.telegram.test_media import VOICE, voice
from tests.support.jobs import run_jobs
from tests.support.questions import all_but_last
from tests.support.telegram_api import StoredFile

IDENTIFIERS = [str(USER["id"]), USER["username"], USER["first_name"], USER["last_name"]]


def clear_values(gw) -> list[str]:  # type: ignore[no-untyped-def]
    """Every value of every column that is stored in clear, as text."""
    values = []
    with gw.sessions() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if not isinstance(c.type, LargeBinary)]
            for row in session.execute(select(*columns)):
                values.extend(str(v) for v in row if v is not None)
    return values


def test_nothing_identifies_the_reporter_after_a_full_flow(
    reporter, gw, telegram_api, caplog
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    telegram_api.files["AwACvoice9"] = StoredFile("voice/file_9.oga", VOICE)
    reporter.send("/start")
    reporter.send(STATEMENT)
    reporter.send(voice=voice("AwACvoice9", len(VOICE)))  # joins the statement
    before, last = all_but_last(affected="2", danger="1", follow_up="1")
    for answer in before:
        reporter.choose(answer)
    [receipt] = reporter.choose(last)
    with gw.sessions() as session:
        case = session.scalars(select(Case)).one()
    message_reporter(gw, case.id, "Are you safe now?", "focal")
    run_jobs(gw)
    reporter.send("Yes, thank you")
    number = receipt["text"].split("Case ")[1].split()[0]
    reporter.send(f"/status {number} 000000")
    assert telegram_api.calls_to("getFile"), "the voice note was fetched"

    leaks = [v for v in clear_values(gw) if any(i in v for i in IDENTIFIERS)]
    assert leaks == []
    keys = [key.decode() for key in gw.redis.scan_iter()]
    assert keys and not [k for k in keys if any(i in k for i in IDENTIFIERS)]
    for queue in gw.queues():
        for job in queue.get_jobs():
            assert all(isinstance(arg, int) for arg in job.args) and not job.kwargs
    for key in [k for k in keys if k.startswith("telegram:")]:
        members = {m.decode() for m in gw.redis.smembers(key)}
        assert members and all(m.isdigit() and int(m) < 100000 for m in members)

    logged = caplog.text
    for secret in [*IDENTIFIERS, TOKEN, STATEMENT, "Yes, thank you", "Are you safe now?"]:
        assert secret not in logged, secret
