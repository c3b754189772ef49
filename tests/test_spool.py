"""The database down when a message arrives: spooled to disk, loaded later, never lost."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from gateway.core.db import make_engine, make_sessionmaker
from gateway.core.inbound import InboundMessage, MediaRef
from gateway.core.models import Case, InboundEvent
from gateway.intake import submit as intake
from gateway.work import spool
from tests.support.jobs import run_jobs

SENDER = "+243810000030"


def message(mid: str) -> InboundMessage:
    return InboundMessage(
        channel="oneshot",
        provider="testsms",
        provider_message_id=mid,
        sender=SENDER,
        text="Statement sent while the database restarted",
        language_hint="en",
        media=(MediaRef("http://127.0.0.1:9/m.jpg", "image/jpeg", 10),),
        received_at=datetime(2026, 11, 28, 8, 0, tzinfo=UTC),
    )


def database_down(gw):  # type: ignore[no-untyped-def]
    broken = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    return replace(gw, engine=broken, sessions=make_sessionmaker(broken))


def events(gw) -> int:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return session.scalar(select(func.count()).select_from(InboundEvent))


def test_spooled_while_down_then_loaded_once(gw, tracker) -> None:  # type: ignore[no-untyped-def]
    down = database_down(gw)
    results = intake.submit(down, [message("a"), message("b")])
    assert [r.spooled for r in results] == [True, True]
    intake.submit(down, [message("a")])  # the provider redelivers while still down
    assert spool.pending(gw) == 2
    files = list(spool.spool_dir(gw).iterdir())
    for path in files:
        raw = path.read_bytes()
        assert b"Statement" not in raw and SENDER.encode() not in raw and b"243810000030" not in raw
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(spool.spool_dir(gw).stat().st_mode & 0o777) == "0o700"
    assert spool.load(down) == 0 and spool.pending(gw) == 2  # still down: nothing lost
    assert spool.load(gw) == 2 and spool.pending(gw) == 0
    assert events(gw) == 2
    with gw.sessions() as session:
        loaded = session.scalars(select(InboundEvent).order_by(InboundEvent.id)).first()
        payload = gw.cipher.decrypt_json(loaded.payload_enc)
        assert payload["sender"] == SENDER and payload["media"][0]["url"].endswith("m.jpg")
        assert loaded.received_at == datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    run_jobs(gw)
    with gw.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 2
    assert len(tracker.cases) == 2


def test_a_message_spooled_and_also_stored_is_one_event(gw) -> None:  # type: ignore[no-untyped-def]
    intake.submit(database_down(gw), [message("c")])
    intake.submit(gw, [message("c")])  # the provider retried and the database was back
    assert spool.load(gw) == 1
    assert events(gw) == 1 and spool.pending(gw) == 0


def test_the_sweeper_loads_the_spool(gw) -> None:  # type: ignore[no-untyped-def]
    from gateway.work.sweeper import sweep

    intake.submit(database_down(gw), [message("d")])
    sweep(gw)
    assert events(gw) == 1 and spool.pending(gw) == 0


def test_unreadable_file_is_set_aside_and_does_not_block_the_others(gw) -> None:  # type: ignore[no-untyped-def]
    directory = spool.spool_dir(gw)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / ("0" * 40 + spool.SUFFIX)).write_bytes(b"not a token")
    intake.submit(database_down(gw), [message("e")])
    assert spool.load(gw) == 1 and events(gw) == 1
    assert spool.pending(gw) == 0
    assert (directory / ("0" * 40 + spool.BAD_SUFFIX)).read_bytes() == b"not a token"
    assert not [p for p in os.listdir(directory) if p.endswith(".claimed")]


def claim_as_a_dead_loader(gw, age: float) -> None:  # type: ignore[no-untyped-def]
    """What a loader killed between taking a file and storing it leaves behind."""
    (path,) = spool.spool_dir(gw).glob(f"*{spool.SUFFIX}")
    claimed = path.with_name(f".{path.stem}.99999.deadbeef{spool.CLAIMED_SUFFIX}")
    os.rename(path, claimed)
    then = time.time() - age
    os.utime(claimed, (then, then))


def test_a_file_claimed_by_a_dead_loader_is_loaded_later(gw) -> None:  # type: ignore[no-untyped-def]
    intake.submit(database_down(gw), [message("f")])
    claim_as_a_dead_loader(gw, age=spool.STALE_CLAIM_SECONDS + 60)
    assert spool.pending(gw) == 1
    assert spool.load(gw) == 1 and events(gw) == 1 and spool.pending(gw) == 0


def test_a_fresh_claim_belongs_to_its_loader(gw) -> None:  # type: ignore[no-untyped-def]
    intake.submit(database_down(gw), [message("g")])
    claim_as_a_dead_loader(gw, age=1)
    assert spool.load(gw) == 0 and events(gw) == 0 and spool.pending(gw) == 1


@pytest.mark.slow
def test_the_web_server_loads_its_own_spool(gw, env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A web machine's spool is loaded by its web processes, with no worker anywhere."""
    intake.submit(database_down(gw), [message("h")])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--port", str(port), "--workers", "1"]
            + ["--data-dir", str(tmp_path)],
            env={**os.environ, **env, "GATEWAY_SPOOL_LOAD_SECONDS": "0.2"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while (events(gw) == 0 or spool.pending(gw)) and time.monotonic() < deadline:
                if server.poll() is not None:
                    break
                time.sleep(0.2)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    assert events(gw) == 1 and spool.pending(gw) == 0, log.read_text(errors="replace")[-3000:]
