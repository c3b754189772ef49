"""SQLite's writers queue on a lock across threads and processes, not in SQLite's polling."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

from gateway.core.db import WRITER_LOCK_SUFFIX, make_engine, sqlite_writer

HELD_FOR = 0.5  # seconds a holder keeps the lock while the test looks whether another got in


def _write_when_let_in(database: str, marker: str) -> None:
    engine = make_engine(f"sqlite:///{database}")
    with sqlite_writer(engine):
        Path(marker).write_text("in")


def test_another_process_waits_until_the_holder_lets_go(tmp_path: Path) -> None:
    """Forked after the holder opened the lock file, the child still waits: it opens its own."""
    database = str(tmp_path / "gateway.db")
    marker = tmp_path / "child-was-in"
    engine = make_engine(f"sqlite:///{database}")
    fork = multiprocessing.get_context("fork")
    with sqlite_writer(engine):
        child = fork.Process(target=_write_when_let_in, args=(database, str(marker)))
        child.start()
        try:
            child.join(HELD_FOR)
            assert child.is_alive() and not marker.exists()  # waiting, not in
        except AssertionError:
            child.kill()
            raise
    child.join(30)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0 and marker.read_text() == "in"
    assert Path(database + WRITER_LOCK_SUFFIX).stat().st_mode & 0o077 == 0


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    inside: list[int] = []
    overlaps: list[int] = []
    start = threading.Barrier(8)

    def writer() -> None:
        start.wait()
        for _ in range(50):
            with sqlite_writer(engine):
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(len(inside))
                inside.pop()

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert overlaps == []


def test_an_in_memory_database_needs_no_file(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    with sqlite_writer(make_engine("sqlite://")):
        pass
    assert list(tmp_path.iterdir()) == []
