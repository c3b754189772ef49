"""Group commit: the webhook requests of one process that store at once share one commit.

Under load, several of a web process's threads reach the INSERT together,
and each paid its own statement, its own round trip and its own wait for
the durable commit: that wait was the largest cost left on PostgreSQL
(bench/README.md, webhook: 0.57 of the floor with the commit not awaited,
a diagnostic, against 0.45 to 0.47). A `CommitGroup` lets the first caller
lead: it commits every row waiting at that moment in one statement, while
the others wait for it; when it is done, the next waiting caller leads the
rows that arrived meanwhile. Nobody waits for a timer: a caller alone
commits at once, as before.

Each caller still returns only once its own rows are committed, so the 2xx
still follows the durable row. Should a shared commit fail, every caller of
that group commits its own rows alone, as it would have without the group:
one caller's bad row, or a deadlock between two groups, never fails the
others; and a database that is away fails each of them the way callers
already handle (intake spools the message).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Caller(Generic[Item, Result]):
    """One `submit` call: its items, then its results, or word that it must commit alone."""

    __slots__ = ("items", "results", "failed", "leads", "woken")

    def __init__(self, items: list[Item]) -> None:
        self.items = items
        self.results: list[Result] | None = None
        self.failed = False
        self.leads = False
        self.woken = threading.Event()


class CommitGroup(Generic[Item, Result]):
    """Runs `commit` once for the items of every caller waiting, in the order they came.

    `commit` takes the items of one or more callers and returns one result
    per item, in the same order; it commits them all or raises having
    committed none of them. `after`, if given, takes the results of a
    commit once its callers are on their way: work that must follow the
    commit but that no caller waits for (intake announces the new rows); it
    must not raise, since its callers' items are committed whatever it does.
    """

    def __init__(
        self,
        commit: Callable[[list[Item]], list[Result]],
        after: Callable[[list[Result]], None] | None = None,
    ) -> None:
        self._commit = commit
        self._after = after
        self._lock = threading.Lock()
        self._waiting: list[_Caller[Item, Result]] = []
        self._leader_busy = False

    @property
    def waiting(self) -> int:
        """How many callers wait for a commit that has not begun (for tests and diagnostics)."""
        with self._lock:
            return len(self._waiting)

    def submit(self, items: list[Item]) -> list[Result]:
        """The results for `items`, once they are committed; raises as `commit` does."""
        caller: _Caller[Item, Result] = _Caller(items)
        with self._lock:
            self._waiting.append(caller)
            if not self._leader_busy:
                self._leader_busy = caller.leads = True
        if not caller.leads:
            caller.woken.wait()
        if caller.leads:
            self._lead()
        if caller.failed:
            results = self._commit(caller.items)
            if self._after is not None:
                self._after(results)
            return results
        assert caller.results is not None
        return caller.results

    def _lead(self) -> None:
        """Commit what waits now, hand each caller its results, pass the lead on."""
        with self._lock:
            group, self._waiting = self._waiting, []  # the leader is always among them
        results: list[Result] | None = None
        try:
            results = self._commit([item for caller in group for item in caller.items])
        except Exception:
            if len(group) == 1:
                raise  # alone: the error is the leader's own
            for caller in group:
                caller.failed = True
        else:
            start = 0
            for caller in group:
                caller.results = results[start : start + len(caller.items)]
                start += len(caller.items)
        finally:
            with self._lock:
                if self._waiting:
                    successor = self._waiting[0]
                    successor.leads = True
                    successor.woken.set()
                else:
                    self._leader_busy = False
            for caller in group:
                if caller.results is None and not caller.failed:
                    caller.failed = True  # the leader was stopped: each commits its own
                caller.woken.set()
        if results is not None and self._after is not None:
            self._after(results)
