"""Group commit: callers share a commit, each gets its own results, a failure stays its own.

The commit function here is a recorder, so every test can say which items
went into which commit. Callers are lined up deterministically: the first
one's commit is held open until the others are seen waiting.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

import pytest

from gateway.work.commit_group import CommitGroup

TIMEOUT = 10


class Recorder:
    """A commit that records its batches; `hold` keeps the next one open until released."""

    def __init__(self, refuse: Callable[[list[str]], Exception | None] = lambda _: None) -> None:
        self.batches: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.hold = False
        self.refuse = refuse
        self._lock = threading.Lock()

    def __call__(self, items: list[str]) -> list[str]:
        with self._lock:
            self.batches.append(list(items))
            held, self.hold = self.hold, False
        if held:
            self.entered.set()
            assert self.release.wait(TIMEOUT)
        error = self.refuse(items)
        if error is not None:
            raise error
        return [f"stored {item}" for item in items]


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def line_up(group: CommitGroup[str, str], recorder: Recorder, calls: list[list[str]]) -> dict:
    """Submit `calls` from one thread each: the first commits alone and holds its commit
    open until all the others wait; returns each call's results or error, by its first item."""
    outcomes: dict[str, object] = {}

    def call(items: list[str]) -> None:
        try:
            outcomes[items[0]] = group.submit(items)
        except BaseException as exc:  # noqa: BLE001 - the outcome under test
            outcomes[items[0]] = exc

    recorder.hold = True
    threads = [threading.Thread(target=call, args=(calls[0],))]
    threads[0].start()
    assert recorder.entered.wait(TIMEOUT)
    for n, items in enumerate(calls[1:], start=1):
        threads.append(threading.Thread(target=call, args=(items,)))
        threads[-1].start()
        wait_until(lambda n=n: group.waiting == n)  # noqa: B023 - bound per call
    recorder.release.set()
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive()
    return outcomes


def test_a_caller_alone_commits_at_once() -> None:
    recorder = Recorder()
    group = CommitGroup(recorder)
    assert group.submit(["a", "b"]) == ["stored a", "stored b"]
    assert group.submit(["c"]) == ["stored c"]
    assert recorder.batches == [["a", "b"], ["c"]]


def test_callers_waiting_during_a_commit_share_the_next_one_in_the_order_they_came() -> None:
    recorder = Recorder()
    followed: list[list[str]] = []
    group = CommitGroup(recorder, after=followed.append)
    outcomes = line_up(group, recorder, [["first"], ["a1", "a2"], ["b"], ["c1", "c2", "c3"]])
    assert recorder.batches == [["first"], ["a1", "a2", "b", "c1", "c2", "c3"]]
    assert outcomes == {
        "first": ["stored first"],
        "a1": ["stored a1", "stored a2"],
        "b": ["stored b"],
        "c1": ["stored c1", "stored c2", "stored c3"],
    }
    assert group.waiting == 0
    # what follows a commit (intake's announcement) runs once per commit, for all its items
    assert followed == [
        ["stored first"],
        [f"stored {item}" for item in ("a1", "a2", "b", "c1", "c2", "c3")],
    ]


def test_after_a_failed_shared_commit_each_caller_commits_alone_and_only_the_bad_one_fails() -> (
    None
):
    recorder = Recorder(refuse=lambda items: ValueError("bad row") if "bad" in items else None)
    followed: list[list[str]] = []
    group = CommitGroup(recorder, after=followed.append)
    outcomes = line_up(group, recorder, [["first"], ["a"], ["bad"], ["c"]])
    assert sorted(followed) == [["stored a"], ["stored c"], ["stored first"]]
    assert recorder.batches[:2] == [["first"], ["a", "bad", "c"]]
    assert sorted(map(tuple, recorder.batches[2:])) == [("a",), ("bad",), ("c",)]
    assert outcomes["a"] == ["stored a"] and outcomes["c"] == ["stored c"]
    assert isinstance(outcomes["bad"], ValueError)
    assert group.submit(["after"]) == ["stored after"]  # the lead was passed on


@pytest.mark.parametrize(
    "error", [ValueError("refused"), KeyboardInterrupt(), SystemExit(1)], ids=type
)
def test_a_failed_leader_raises_its_own_error_and_leaves_nobody_waiting(error) -> None:  # type: ignore[no-untyped-def]
    """A leader alone raises what its commit raised; one stopped while leading others
    (an interrupt is not a refusal) raises it too, and each of the others commits alone."""
    recorder = Recorder(refuse=lambda items: error if "leader" in items else None)
    group = CommitGroup(recorder)
    with pytest.raises(type(error)):
        group.submit(["leader"])
    # "leader" waits first, so it leads the commit of the three waiting
    outcomes = line_up(group, recorder, [["first"], ["leader"], ["x"], ["y"]])
    assert recorder.batches[2] == ["leader", "x", "y"]
    assert isinstance(outcomes["leader"], type(error))
    assert outcomes["x"] == ["stored x"] and outcomes["y"] == ["stored y"]
    assert group.submit(["after"]) == ["stored after"]


def test_many_threads_each_get_exactly_their_own_results() -> None:
    committed: list[str] = []
    lock = threading.Lock()

    def commit(items: list[str]) -> list[str]:
        if random.random() < 0.3:
            time.sleep(0.0005)  # a commit's wait, so that others line up behind it
        with lock:
            committed.extend(items)
        return [item.upper() for item in items]

    group = CommitGroup(commit)
    mismatches: list[tuple[list[str], list[str]]] = []

    def caller(n: int) -> None:
        for call in range(200):
            items = [f"t{n}-c{call}-i{i}" for i in range(random.randint(1, 3))]
            results = group.submit(items)
            if results != [item.upper() for item in items]:
                mismatches.append((items, results))

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()
    assert mismatches == []
    assert len(committed) == len(set(committed))
    assert sum(name.endswith("-i0") for name in committed) == 12 * 200
