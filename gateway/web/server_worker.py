"""gunicorn's gthread worker, safe against a second quit signal.

Ctrl-C in a terminal sends SIGINT to the whole process group (the demo,
gunicorn's arbiter and its workers), and the arbiter then sends each worker
SIGQUIT: two quit signals a moment apart. gunicorn's gthread worker answers
each by shutting its thread pool down inside the signal handler; a second
signal that arrives while the first holds the pool's shutdown lock waits
on that lock for ever. The worker then hangs until the arbiter kills it at
the graceful timeout (20 s), and a demo stopped meanwhile can leave it
running, bound to the port (tests/test_demo.py). The first quit is enough:
later ones return at once.
"""

from __future__ import annotations

from types import FrameType

from gunicorn.workers.gthread import ThreadWorker

__all__ = ["QuitOnceThreadWorker", "WORKER_CLASS"]


class QuitOnceThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gthread, with the quick shutdown started once however many quit signals come."""

    _quitting = False

    def handle_quit(self, sig: int, frame: FrameType | None) -> None:
        if self._quitting:
            return
        self._quitting = True
        super().handle_quit(sig, frame)


WORKER_CLASS = f"{__name__}.{QuitOnceThreadWorker.__name__}"
