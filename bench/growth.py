"""How the gateway's figures grow with the number of stored cases, 1,000 to 100,000.

`python -m bench growth`; sizes from BENCH_GROWTH_SIZES (default
`1000,10000,100000`), the first one the reference.

Cases are stored in bulk, directly with SQLAlchemy Core, the way the
gateway stores them: each case with its encrypted report (Fernet with the
data key), its `filed` event (and a status change by a focal point when it
is no longer `received`), a delivered outbox row and its attempt; and for
SMS and Telegram cases the done inbound event (encrypted payload), the filed
conversation, the sent receipt (blanked, as after sending) and, for SMS, the
provider clean-up; and, as filing does, a mark on each day that got cases
for the sweeper to count it again in the statistics' daily counts (done once
the cases are stored). Filing through the gateway's own code would cost an
Argon2id hash per case (about 0.2 CPU-seconds: 100,000 cases would take
hours), so every stored case carries one PIN hash made once, at Argon2id's
cheapest parameters, of a PIN the benchmark knows: the look-up then measures
the database, not the hash. The cases are spread evenly over the last two
years (so more cases mean more in every week, the harder case for the
statistics); those older than 60 days are closed nine times in ten, the
others open in any status; 5 % have someone in danger, 10 % a child.

At each size, in one process, through the Flask app (test client; the same
code gunicorn runs, without the network):

- **intake**: an Africa's Talking SMS webhook (verify the key, parse, one
  INSERT, one enqueue), per request;
- **status look-up**: `POST /status` with a stored case's number and PIN;
- **console queue**: `GET /console/cases` signed in (open cases, urgent
  first, 25 a page, the counts at the top);
- **console statistics**: `GET /console/stats` (the last 12 weeks), with
  today marked for counting again, as between two sweeps while reports come
  in (the page counts that day from its cases);
- **sweeper pass**: `sweeper.sweep` with nothing left to do;
- **database size**: PostgreSQL's relation sizes, SQLite's file.

Each time is the median of BENCH_GROWTH_SAMPLES requests (default 30; fewer
for the slow pages). The floor of each figure is the same figure at the
first size, measured in the same run: the ratio says how many times longer
it takes (1 is flat; 100 would be linear from 1,000 to 100,000). Lower is
better.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import Row
from bench import _services as services

SIZES = [int(s) for s in os.environ.get("BENCH_GROWTH_SIZES", "1000,10000,100000").split(",")]
SAMPLES = int(os.environ.get("BENCH_GROWTH_SAMPLES", "30"))
BATCH = 2000
SPAN_DAYS = 730
PIN = "482915"
AT_KEY = "bench-growth-callback-key"
CHANNELS = (("sms", "africastalking", 45), ("web", None, 30), ("ivr", "twilio", 10))
CHANNELS += (("telegram", "telegram", 15),)
LANGUAGES = ("en", "fr", "sw", "ar", "ln")
CATEGORIES = ("sexual_exploitation", "sexual_abuse", "other_misconduct", None)
OPEN_STATUSES = ("received", "under_review", "in_progress", "referred")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TOKEN = re.compile(r'name="token" value="([^"]+)"')

FIGURES = (
    ("intake", "webhook intake ms a request"),
    ("lookup", "status look-up ms (POST /status)"),
    ("queue", "console queue page ms"),
    ("stats", "console statistics page ms"),
    ("sweep", "sweeper pass ms, nothing to do"),
    ("size", "database size MiB"),
)


@dataclass
class Seeder:
    """Stores cases in bulk, as the gateway would have stored them, in batches."""

    gw: Any
    assignee_id: int
    assignee: str
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    counters: dict[int, int] = field(default_factory=dict)
    stored: int = 0
    pin_hash: str = ""
    numbers: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from argon2 import PasswordHasher

        # One cheap hash for every stored case: see the module's docstring.
        self.pin_hash = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PIN)
        self.now = datetime.now(UTC)

    def grow_to(self, total: int) -> None:
        from gateway.cases import daily_counts

        while self.stored < total:
            size = min(BATCH, total - self.stored)
            self._batch(size)
            self.stored += size
        self._save_counters()
        # What the sweeper does within seconds of a filing: count the marked days again.
        while daily_counts.refresh(self.gw.sessions, limit=SPAN_DAYS + 1):
            pass

    def _batch(self, size: int) -> None:
        from gateway.cases.numbering import CaseNumber
        from gateway.core.models import (
            Case,
            CaseEvent,
            Conversation,
            ForwardingAttempt,
            InboundEvent,
            OutboundMessage,
            OutboxEntry,
            ProviderCleanup,
            Report,
        )
        from gateway.core.statistics_tables import DailyCountStale

        rng, cipher = self.rng, self.gw.cipher
        cases = []
        for _ in range(size):
            age = timedelta(days=rng.uniform(0, SPAN_DAYS))
            received = self.now - age
            year = received.year
            self.counters[year] = sequence = self.counters.get(year, 0) + 1
            number = CaseNumber(year, sequence)
            channel, provider, _w = rng.choices(CHANNELS, weights=[c[2] for c in CHANNELS])[0]
            if age > timedelta(days=60) and rng.random() < 0.9:
                status = "closed"
            else:
                status = rng.choice(OPEN_STATUSES)
            danger, child = rng.random() < 0.05, rng.random() < 0.10
            pseudonym = None
            if channel in ("sms", "telegram"):
                pseudonym = hashlib.sha256(f"{channel}:{sequence}:{year}".encode()).hexdigest()
            cases.append(
                {
                    "case_number": number.digits,
                    "year": year,
                    "sequence": sequence,
                    "pin_hash": self.pin_hash,
                    "status": status,
                    "channel": channel,
                    "provider": provider,
                    "language": rng.choice(LANGUAGES),
                    "category": rng.choice(CATEGORIES),
                    "danger_now": danger,
                    "child_involved": child,
                    "affected": "child" if child else rng.choice(("self", "someone_else")),
                    "follow_up": channel != "web" and rng.random() < 0.5,
                    "received_at": received,
                    "created_at": received,
                    "updated_at": received,
                    "closed_at": received + timedelta(days=30) if status == "closed" else None,
                    "assignee_id": None if status == "received" else self.assignee_id,
                    "external_id": str(uuid.uuid4()),
                    "sender_pseudonym": pseudonym,
                    "reply_address_enc": None,
                    "purged_at": None,
                }
            )
            self.numbers.append(number.display())
        with self.gw.engine.begin() as conn:
            ids = store(conn, Case, cases)
            reports, events, outbox = [], [], []
            inbound, conversations, receipts = [], [], []
            for case_id, case in zip(ids, cases, strict=True):
                received = case["received_at"]
                narrative = f"What happened, where and when, as the reporter said it ({case_id})."
                reports.append(
                    {
                        "case_id": case_id,
                        "content_enc": cipher.encrypt_json(
                            {
                                "narrative": narrative,
                                "location": "near the water point",
                                "incident_time": "last week",
                                "danger_now": case["danger_now"],
                                "affected": case["affected"],
                                "category": case["category"],
                            }
                        ),
                        "created_at": received,
                    }
                )
                events.append(self._event(case_id, "filed", None, "reporter", received))
                if case["status"] != "received":
                    answered = received + timedelta(hours=rng.uniform(1, 96))
                    events.append(
                        self._event(
                            case_id, "status_changed", "under_review", self.assignee, answered
                        )
                    )
                outbox.append(
                    {
                        "case_id": case_id,
                        "target": "webhook",
                        "kind": "case",
                        "event_id": 0,
                        "state": "done",
                        "attempts": 1,
                        "next_attempt_at": received,
                        "locked_until": None,
                        "last_error": None,
                        "delivered_at": received + timedelta(seconds=2),
                        "created_at": received,
                    }
                )
                if case["sender_pseudonym"] is None:
                    continue
                provider = case["provider"]
                inbound.append(
                    {
                        "channel": case["channel"],
                        "provider": provider,
                        "provider_message_id": f"growth-{uuid.uuid4().hex}",
                        "sender_pseudonym": case["sender_pseudonym"],
                        "payload_enc": cipher.encrypt_json(
                            {"sender": "+243810000000", "text": narrative, "media": []}
                        ),
                        "language_hint": case["language"],
                        "received_at": received,
                        "created_at": received,
                        "state": "done",
                        "attempts": 1,
                        "locked_until": None,
                        "processed_at": received + timedelta(seconds=1),
                        "last_error": None,
                        "case_id": case_id,
                    }
                )
                conversations.append(
                    {
                        "channel": case["channel"],
                        "provider": provider,
                        "sender_pseudonym": case["sender_pseudonym"],
                        "open_key": None,
                        "state": "filed",
                        "step": "done",
                        "language": case["language"],
                        "answers_enc": cipher.encrypt_json({}),
                        "address_enc": None,
                        "retries": 0,
                        "last_activity_at": received,
                        "created_at": received,
                        "case_id": case_id,
                    }
                )
                receipts.append(
                    {
                        "case_id": case_id,
                        "channel": case["channel"],
                        "provider": provider,
                        "address_enc": cipher.encrypt(b""),
                        "body_enc": cipher.encrypt(b""),
                        "dedupe_key": f"receipt:{case_id}",
                        "state": "done",
                        "attempts": 1,
                        "next_attempt_at": received,
                        "locked_until": None,
                        "provider_message_id": f"growth-out-{case_id}",
                        "delivery_status": "delivered",
                        "last_error": None,
                        "created_at": received,
                        "sent_at": received + timedelta(seconds=3),
                    }
                )
            store(conn, Report, reports)
            days = sorted({case["received_at"].date() for case in cases})
            store(conn, DailyCountStale, [{"day": day} for day in days])
            store(conn, CaseEvent, events)
            outbox_ids = store(conn, OutboxEntry, outbox)
            store(
                conn,
                ForwardingAttempt,
                [
                    {
                        "outbox_id": outbox_id,
                        "attempted_at": entry["created_at"],
                        "duration_ms": 40,
                        "http_status": 201,
                        "outcome": "delivered",
                        "error": None,
                    }
                    for outbox_id, entry in zip(outbox_ids, outbox, strict=True)
                ],
            )
            if inbound:
                event_ids = store(conn, InboundEvent, inbound)
                store(conn, Conversation, conversations)
                store(conn, OutboundMessage, receipts)
                cleanups = [
                    {
                        "provider": row["provider"],
                        "provider_message_id": row["provider_message_id"],
                        "inbound_event_id": event_id,
                        "state": "done",
                        "attempts": 1,
                        "next_attempt_at": row["received_at"],
                        "locked_until": None,
                        "last_error": None,
                        "created_at": row["received_at"],
                        "done_at": row["received_at"] + timedelta(minutes=5),
                    }
                    for event_id, row in zip(event_ids, inbound, strict=True)
                    if row["provider"] == "africastalking"
                ]
                if cleanups:
                    store(conn, ProviderCleanup, cleanups)

    @staticmethod
    def _event(case_id: int, kind: str, status: str | None, actor: str, at: datetime) -> dict:  # type: ignore[type-arg]
        return {
            "case_id": case_id,
            "kind": kind,
            "status": status,
            "body_enc": None,
            "actor": actor,
            "created_at": at,
        }

    def _save_counters(self) -> None:
        from sqlalchemy import delete, insert

        from gateway.core.models import CaseNumberCounter

        with self.gw.engine.begin() as conn:
            conn.execute(delete(CaseNumberCounter))
            conn.execute(
                insert(CaseNumberCounter),
                [{"year": y, "last_value": v} for y, v in self.counters.items()],
            )


def store(conn: Any, model: type, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` into the model's table with ids taken here; the ids, in order.

    PostgreSQL gets them with COPY (the ids from the table's own sequence, so
    the gateway's later inserts go on from there); SQLite with executemany.
    """
    from sqlalchemy import func, insert, select, text

    table = model.__table__  # type: ignore[attr-defined]
    if conn.dialect.name == "postgresql":
        ids = list(
            conn.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
                ),
                {"t": table.name, "n": len(rows)},
            ).scalars()
        )
        columns = ["id", *rows[0]]
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f'COPY "{table.name}" ({", ".join(columns)}) FROM STDIN') as copy:
            for row_id, row in zip(ids, rows, strict=True):
                copy.write_row((row_id, *row.values()))
        cursor.close()
        return ids
    first = (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1
    ids = list(range(first, first + len(rows)))
    conn.execute(insert(table), [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
    return ids


def _median_ms(action: Callable[[], None], samples: int) -> float:
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


class Probe:
    """The requests whose times are measured, through one app instance."""

    def __init__(self, gw: Any, seeder: Seeder) -> None:
        from gateway.app import create_app

        self.gw, self.seeder = gw, seeder
        self.app = create_app(gateway=gw)
        self.client = self.app.test_client()
        self.console = self.app.test_client()
        self.sent = 0
        self.rng = random.Random(5)
        self._sign_in()
        page = self.client.get("/status?lang=en").get_data(as_text=True)
        self.status_token = TOKEN.search(page).group(1)  # type: ignore[union-attr]

    def _sign_in(self) -> None:
        import pyotp
        from sqlalchemy import update

        from gateway.core.accounts import User

        user = self.seeder.user
        with self.gw.engine.begin() as conn:
            conn.execute(
                update(User)
                .where(User.username == user.username)
                .values(must_change_password=False)
            )
        page = self.console.get("/console/login").get_data(as_text=True)
        form = {
            "csrf": CSRF.search(page).group(1),  # type: ignore[union-attr]
            "username": user.username,
            "password": user.password,
            "code": pyotp.TOTP(user.totp_secret).now(),
        }
        answer = self.console.post("/console/login", data=form)
        if answer.status_code != 302:
            raise RuntimeError(f"console sign-in failed: HTTP {answer.status_code}")

    def intake(self) -> None:
        self.sent += 1
        form = {
            "from": f"+24382{self.sent:07d}",
            "to": "12345",
            "text": "A report sent while the benchmark measures intake.",
            "id": f"ATXid_growth_probe_{self.sent}",
            "date": "2026-11-28 10:00:00",
        }
        answer = self.client.post(f"/sms/africastalking?key={AT_KEY}", data=form)
        assert answer.status_code == 200, answer.status_code

    def lookup(self) -> None:
        number = self.rng.choice(self.seeder.numbers)
        address = (
            f"10.{self.rng.randrange(256)}.{self.rng.randrange(256)}.{self.rng.randrange(256)}"
        )
        answer = self.client.post(
            "/status",
            data={"token": self.status_token, "number": number, "pin": PIN},
            environ_base={"REMOTE_ADDR": address},
        )
        assert answer.status_code == 200 and number in answer.get_data(as_text=True), number

    def queue(self) -> None:
        answer = self.console.get("/console/cases")
        assert answer.status_code == 200, answer.status_code

    def stats(self) -> None:
        answer = self.console.get("/console/stats")
        assert answer.status_code == 200, answer.status_code

    def mark_today(self) -> None:
        """Today's daily counts stale, as a filing leaves them until the next sweep."""
        from gateway.cases import daily_counts

        with self.gw.sessions() as session, session.begin():
            daily_counts.mark_stale(session, datetime.now(UTC))

    def sweep(self) -> None:
        from gateway.work.sweeper import sweep

        result = sweep(self.gw)
        assert result.total == 0, result

    def sweep_until_idle(self) -> None:
        """Sweep until a sweep finds nothing to do, as the sweeper's timed figure needs.

        The seeded cases include urgent ones nobody opened: a sweep escalates
        at most a batch of them, so at 100,000 cases one sweep is not enough.
        """
        from gateway.work.sweeper import sweep

        for _ in range(1000):
            if sweep(self.gw).total == 0:
                return
        raise RuntimeError("the sweeper still finds work after 1000 sweeps")

    def forget_probe_messages(self) -> None:
        """The intake probe's rows and jobs go, so they do not count in the next figures."""
        from sqlalchemy import delete

        from gateway.core.models import InboundEvent

        with self.gw.engine.begin() as conn:
            conn.execute(
                delete(InboundEvent).where(
                    InboundEvent.provider_message_id.like("ATXid_growth_probe_%")
                )
            )
        self.gw.redis.flushdb()


def database_mib(gw: Any) -> float:
    from sqlalchemy import text

    with gw.engine.connect() as conn:
        if gw.engine.dialect.name == "postgresql":
            size = conn.scalar(
                text(
                    "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = current_schema() AND c.relkind = 'r'"
                )
            )
        else:
            pages = conn.scalar(text("PRAGMA page_count"))
            size = pages * conn.scalar(text("PRAGMA page_size"))
    return float(size or 0) / (1024 * 1024)


def analyze(gw: Any) -> None:
    """PostgreSQL: vacuumed, with fresh planner statistics, as autovacuum leaves a bulk load.

    SQLite gets none: the gateway never runs ANALYZE there, and its planner
    then takes every index as selective.
    """
    from sqlalchemy import text

    if gw.engine.dialect.name == "postgresql":
        from gateway.core.schema import Base

        with gw.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in Base.metadata.sorted_tables:
                conn.execute(text(f'VACUUM ANALYZE "{table.name}"'))


def measure(probe: Probe) -> dict[str, float]:
    """Every figure at the current size."""
    analyze(probe.gw)
    figures = {
        "intake": _median_ms(probe.intake, SAMPLES * 3),
    }
    probe.forget_probe_messages()
    figures["lookup"] = _median_ms(probe.lookup, SAMPLES)
    figures["queue"] = _median_ms(probe.queue, max(5, SAMPLES // 3))
    probe.mark_today()
    figures["stats"] = _median_ms(probe.stats, max(5, SAMPLES // 3))
    probe.sweep_until_idle()  # today counted again, due escalations made: nothing left to do
    figures["sweep"] = _median_ms(probe.sweep, max(5, SAMPLES // 3))
    figures["size"] = database_mib(probe.gw)
    return figures


def grow(kind: str) -> Iterator[tuple[str, int, dict[str, float]]]:
    """(backend name, size, figures) for every size, on one backend."""
    from gateway.console.users import create_user
    from gateway.core import runtime
    from gateway.core.config import Settings
    from gateway.core.runtime import Gateway

    with services.backend(kind) as backend:
        env = backend.env(
            AFRICASTALKING_USERNAME="sandbox",
            AFRICASTALKING_API_KEY="bench-unused",
            AFRICASTALKING_CALLBACK_KEY=AT_KEY,
            FORWARDERS="webhook",
            CASE_TRACKER_URL="http://127.0.0.1:9/cases",
            CASE_TRACKER_SECRET="bench-tracker-secret",
        )
        gw = runtime.install(Gateway.from_settings(Settings.from_mapping(env, backend.directory)))
        try:
            with gw.sessions() as session, session.begin():
                user = create_user(session, gw.cipher, "growth_admin", "admin", actor="bench")
            from sqlalchemy import select

            from gateway.core.accounts import User

            with gw.sessions() as session:
                user_id = session.scalar(select(User.id).where(User.username == user.username))
            seeder = Seeder(gw, user_id, user.username)
            seeder.user = user  # type: ignore[attr-defined]
            probe = None
            for size in SIZES:
                started = time.monotonic()
                seeder.grow_to(size)
                print(
                    f"growth: {backend.name}: {size:,} cases stored"
                    f" ({time.monotonic() - started:.0f}s)",
                    flush=True,
                )
                probe = probe or Probe(gw, seeder)
                started = time.monotonic()
                figures = measure(probe)
                print(
                    f"growth: {backend.name}: {size:,}: "
                    + ", ".join(f"{k} {v:.2f}" for k, v in figures.items())
                    + f" ({time.monotonic() - started:.0f}s)",
                    flush=True,
                )
                yield backend.name, size, figures
        finally:
            runtime.uninstall()
            gw.close()


def run() -> list[Row]:
    """Each figure at every size against the same figure at the first size."""
    rows = []
    for kind, skipped in services.kinds():
        if skipped:
            print(f"growth: {kind} skipped: {skipped}", flush=True)
            continue
        results: dict[int, dict[str, float]] = {}
        name = kind
        for where, size, figures in grow(kind):
            name, results[size] = where, figures
        first = SIZES[0]
        print(growth_table(name, results), flush=True)
        for key, label in FIGURES:
            for size in SIZES[1:]:
                rows.append(
                    Row(
                        "growth",
                        name,
                        f"{label}, {size:,} cases",
                        results[size][key],
                        f"the same at {first:,} cases",
                        results[first][key],
                        "lower is better; 1 is flat",
                    )
                )
    return rows


def growth_table(name: str, results: dict[int, dict[str, float]]) -> str:
    """One line per figure, one column per size, and the ratios to the first size."""
    sizes = sorted(results)
    head = " | ".join(f"{s:,}" for s in sizes)
    ratios = " | ".join(f"x at {s:,}" for s in sizes[1:])
    lines = [
        f"{name}",
        f"| figure | {head} | {ratios} |",
        "|---|" + "---:|" * (2 * len(sizes) - 1),
    ]
    for key, label in FIGURES:
        values = [results[s][key] for s in sizes]
        cells = [f"{v:.2f}" for v in values] + [
            f"{v / values[0]:.2f}" if values[0] else "n/a" for v in values[1:]
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from bench import markdown_table

    print(markdown_table(run()))
