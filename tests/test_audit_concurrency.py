"""The audit chain and every audited console action under real concurrency, as deployed.

`complaint-gateway serve` runs as it does in production (gunicorn, several
worker processes with several threads each, behind one trusted proxy) on
PostgreSQL and on the embedded default. Focal points and an administrator
sign in over HTTP; then, released together by a barrier, twenty strangers
fail to sign in while the staff do every audited thing the console offers
(status, assignment, note, link, unlink, message, retries, case view and
exports, user create/reset/unlock/deactivate/activate, password change,
sign-out). Every answer must be a 2xx/3xx/4xx as for one user alone, every
action must have its audit entry exactly once, and `complaint-gateway audit
verify` must find the chain whole: before appends were serialised, two
writers read the same head, so PostgreSQL answered 500 (`uq_audit_log_hash`)
or the chain forked and `audit verify` reported tampering.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
import redis as redis_lib
import requests
from sqlalchemy import select, update

from gateway.cases.reports import NewReport
from gateway.console.users import NewUser, create_user
from gateway.core import runtime
from gateway.core.accounts import AuditEntry, User
from gateway.core.config import Settings
from gateway.core.models import CaseLink
from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow
from gateway.core.states import Role
from gateway.work.reporter import submit_report
from tests.conftest import _truncate, make_env
from tests.console.conftest import CSRF
from tests.support.kannel import stop_process
from tests.support.private_servers import free_port

pytestmark = pytest.mark.slow

STRANGERS = 20  # failed sign-ins fired at once; the per-client cap (20) is reached, not passed
NEW_PASSWORD = "a long enough passphrase 42"


@dataclass
class Served:
    """A running `serve` and what the test set up in its database."""

    url: str
    pid: int
    env: dict[str, str]
    gw: Gateway
    cases: list[str]
    users: dict[str, NewUser] = field(default_factory=dict)


def _backend(request: pytest.FixtureRequest, directory: Path) -> tuple[str, str]:
    if request.param == "postgres":
        db_url = request.getfixturevalue("pg_schema_url")
        redis_url = request.getfixturevalue("real_redis_url")
        _truncate(db_url)
    else:
        db_url = f"sqlite:///{directory / 'gateway.db'}"
        shutil.copy(request.getfixturevalue("sqlite_template"), directory / "gateway.db")
        redis_url = request.getfixturevalue("embedded_redis_url")
    redis_lib.Redis.from_url(redis_url).flushdb()
    return db_url, redis_url


def _seed(gw: Gateway) -> tuple[list[str], dict[str, NewUser]]:
    """Eight web reports, a link to undo, the staff, and the users the admin acts on."""
    cases = [
        submit_report(gw, NewReport(narrative=f"report {n}", language="en"), channel="web")
        for n in range(8)
    ]
    users: dict[str, NewUser] = {}
    with gw.sessions() as db, db.begin():
        for name, role in [
            ("root", Role.ADMIN),
            *[(f"fp{n}", Role.FOCAL_POINT) for n in range(4)],
            ("leaver", Role.VIEWER),
            ("changer", Role.VIEWER),
            ("t_reset", Role.VIEWER),
            ("t_unlock", Role.VIEWER),
            ("t_deact", Role.VIEWER),
            ("t_act", Role.VIEWER),
            ("x_user", Role.FOCAL_POINT),
            ("x_held", Role.FOCAL_POINT),
        ]:
            users[name] = create_user(db, gw.cipher, name, role.value)
        db.execute(update(User).values(must_change_password=False))
        db.execute(update(User).where(User.username == "t_act").values(active=False))
        db.execute(update(User).where(User.username == "t_unlock").values(failed_logins=3))
        # a user whose account is held (the old code's lock, or the hold after wrong codes)
        held_until = utcnow() + timedelta(days=1)
        db.execute(update(User).where(User.username == "x_held").values(locked_until=held_until))
        ids = {c.case_number: c.case_id for c in cases}
        first, second = ids[cases[6].case_number], ids[cases[7].case_number]
        db.add(CaseLink(case_id=first, other_case_id=second, kind="related", created_by="fp0"))
    return [c.case_number for c in cases], users


@pytest.fixture(scope="module", params=["postgres", "embedded"])
def served(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Served]:  # type: ignore[no-untyped-def]
    directory = tmp_path_factory.mktemp(f"serve-{request.param}")
    db_url, redis_url = _backend(request, directory)
    env = make_env(
        db_url,
        redis_url,
        directory,
        CASE_TRACKER_URL="http://127.0.0.1:9/never",  # no worker runs: nothing is sent
        CASE_TRACKER_SECRET="tracker-secret",
        GATEWAY_TRUSTED_PROXIES="1",  # the test is the proxy: X-Forwarded-For names clients
    )
    gw = runtime.install(Gateway.from_settings(Settings.from_mapping(env, directory)))
    cases, users = _seed(gw)
    port = free_port()
    log = directory / "serve.log"
    command = [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", "3", "--threads", "4"]
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*command, "--data-dir", str(directory)],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                if requests.get(f"{url}/healthz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "serve did not answer within 60 s"
            time.sleep(0.2)
        yield Served(url, server.pid, {**os.environ, **env}, gw, cases, users)
    finally:
        stop_process(server, timeout=30)
        runtime.uninstall()
        gw.close()


class Client:
    """One browser: its own cookies and its own address (X-Forwarded-For)."""

    def __init__(self, served: Served, address: str) -> None:
        self.url = served.url
        self.http = requests.Session()
        self.http.headers["X-Forwarded-For"] = address
        self.csrf = ""

    def login_form(self) -> str:
        page = self.http.get(f"{self.url}/console/login", timeout=30)
        match = CSRF.search(page.text)
        assert match, page.text[:500]
        return match.group(1)

    def login(self, username: str, password: str, code: str) -> requests.Response:
        form = {"csrf": self.login_form(), "username": username, "password": password}
        return self.http.post(
            f"{self.url}/console/login",
            data={**form, "code": code},
            allow_redirects=False,
            timeout=60,
        )

    def sign_in(self, user: NewUser) -> Client:
        answer = self.login(user.username, user.password, pyotp.TOTP(user.totp_secret).now())
        assert answer.status_code in (200, 302), answer.text[:500]
        match = CSRF.search(self.http.get(f"{self.url}/console/stats", timeout=30).text)
        assert match
        self.csrf = match.group(1)
        return self

    def clone(self) -> Client:
        """The same signed-in browser in another tab: one per concurrent request."""
        other = Client.__new__(Client)
        other.url, other.csrf = self.url, self.csrf
        other.http = requests.Session()
        other.http.headers.update(self.http.headers)
        other.http.cookies.update(self.http.cookies)
        return other

    def post(self, path: str, **form: str) -> requests.Response:
        return self.http.post(
            f"{self.url}{path}",
            data={"csrf": self.csrf, **form},
            allow_redirects=False,
            timeout=60,
        )

    def get(self, path: str) -> requests.Response:
        return self.http.get(f"{self.url}{path}", allow_redirects=False, timeout=60)


def _user_id(gw: Gateway, name: str) -> int:
    with gw.sessions() as db:
        return db.scalars(select(User.id).where(User.username == name)).one()


def _storm(served: Served) -> tuple[list[tuple[str, int, int]], Counter[tuple[str, str | None]]]:
    """Everything at once; ([(label, status, expected status)], the audit entries expected)."""
    gw, cases, users = served.gw, served.cases, served.users
    names = ["root", *[f"fp{n}" for n in range(4)], "leaver", "changer"]
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        signed = pool.map(
            lambda n: Client(served, f"198.51.100.{n + 1}").sign_in(users[names[n]]),
            range(len(names)),
        )
        browsers = dict(zip(names, signed, strict=True))

    class Tabs:
        def __getitem__(self, name: str) -> Client:
            return browsers[name].clone()

    staff = Tabs()
    ids = {name: _user_id(gw, name) for name in ("fp1", "t_reset", "t_unlock", "t_deact", "t_act")}
    c = cases
    jobs: list[tuple[str, Callable[[], requests.Response], int, tuple[str, str, str | None]]] = [
        ("status", lambda: staff["fp0"].post(f"/console/cases/{c[0]}/status",
            status="under_review", reason="triaged"), 302, ("fp0", "case.status", c[0])),
        ("assign", lambda: staff["fp1"].post(f"/console/cases/{c[1]}/assign",
            assignee=str(ids["fp1"])), 302, ("fp1", "case.assign", c[1])),
        ("note", lambda: staff["fp2"].post(f"/console/cases/{c[2]}/note", note="called back"),
            302, ("fp2", "case.note", c[2])),
        ("link", lambda: staff["fp3"].post(f"/console/cases/{c[3]}/link", other=c[4],
            kind="duplicate"), 302, ("fp3", "case.link", c[3])),
        ("unlink", lambda: staff["fp0"].post(f"/console/cases/{c[6]}/unlink", other=c[7]),
            302, ("fp0", "case.unlink", c[6])),
        ("triage", lambda: staff["fp3"].post(f"/console/cases/{c[4]}/triage",
            category="sexual_abuse", child_involved="no", danger_now="no"),
            302, ("fp3", "case.triage", c[4])),
        ("message", lambda: staff["fp1"].post(f"/console/cases/{c[5]}/message",
            message="We have your report."), 302, ("fp1", "case.message", c[5])),
        ("retry", lambda: staff["fp2"].post(f"/console/cases/{c[0]}/retry"),
            302, ("fp2", "forwarding.retry", c[0])),
        ("retry all", lambda: staff["fp3"].post("/console/health/retry-forwarding"),
            302, ("fp3", "forwarding.retry", None)),
        ("retry inbound", lambda: staff["fp3"].post("/console/health/retry-inbound"),
            302, ("fp3", "inbound.retry", None)),
        ("view", lambda: staff["fp0"].get(f"/console/cases/{c[7]}"),
            200, ("fp0", "case.view", c[7])),
        ("zip", lambda: staff["fp1"].get(f"/console/cases/{c[2]}/export.zip"),
            200, ("fp1", "case.export", c[2])),
        ("pdf", lambda: staff["fp2"].get(f"/console/cases/{c[3]}/export.pdf"),
            200, ("fp2", "case.export", c[3])),
        ("stats", lambda: staff["fp3"].get("/console/stats.csv"),
            200, ("fp3", "stats.export", None)),
        ("create", lambda: staff["root"].post("/console/users", username="newbie",
            role="focal_point"), 200, ("root", "user.create", "newbie")),
        ("reset", lambda: staff["root"].post(f"/console/users/{ids['t_reset']}/reset"),
            200, ("root", "user.reset", "t_reset")),
        ("unlock", lambda: staff["root"].post(f"/console/users/{ids['t_unlock']}/unlock"),
            302, ("root", "user.unlock", "t_unlock")),
        ("deactivate", lambda: staff["root"].post(f"/console/users/{ids['t_deact']}/deactivate"),
            302, ("root", "user.deactivate", "t_deact")),
        ("activate", lambda: staff["root"].post(f"/console/users/{ids['t_act']}/activate"),
            302, ("root", "user.activate", "t_act")),
        ("password", lambda: staff["changer"].post("/console/password",
            current=users["changer"].password, new=NEW_PASSWORD, repeat=NEW_PASSWORD),
            302, ("changer", "user.password_change", "changer")),
        ("logout", lambda: staff["leaver"].post("/console/logout"),
            302, ("leaver", "logout", "leaver")),
    ]  # fmt: skip
    expected: Counter[tuple[str, str | None]] = Counter(
        # the audit trail names a case by its digits
        (f"{actor}:{action}", target.replace("-", "") if target in c else target)
        for *_, (actor, action, target) in jobs
    )
    # Twenty strangers from one address, each trying a name that does not exist.
    strangers = [Client(served, "203.0.113.9") for _ in range(STRANGERS)]
    forms = [s.login_form() for s in strangers]
    for stranger in strangers:
        # Until the barrier lets them go, their kept-alive connections sit idle, longer than
        # gunicorn's keep-alive (2 s) on a slow machine: it closes them, and a POST sent on
        # one is reset. A browser would retry; requests does not. Each posts on a new one.
        stranger.http.close()
    for n, (stranger, token) in enumerate(zip(strangers, forms, strict=True)):

        def attempt(s: Client = stranger, t: str = token, n: int = n) -> requests.Response:
            form = {"csrf": t, "username": f"ghost{n}", "password": "guess", "code": "123456"}
            return s.http.post(
                f"{s.url}/console/login", data=form, allow_redirects=False, timeout=60
            )

        jobs.append((f"stranger {n}", attempt, 401, ("anonymous", "login.failed", None)))
    expected[("anonymous:login.failed", None)] += STRANGERS
    expected[("anonymous:login.throttled", None)] += 1  # the twentieth reaches the cap
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], requests.Response]) -> int:
        barrier.wait(timeout=60)
        return job().status_code

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        statuses = list(pool.map(run, [job for _, job, _, _ in jobs]))
    answers = [(label, got, want) for (label, _, want, _), got in zip(jobs, statuses, strict=True)]
    return answers, expected


def test_concurrent_audited_actions_keep_one_whole_chain(served: Served) -> None:
    with served.gw.sessions() as db:
        before = db.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)) or 0
    answers, expected = _storm(served)
    assert [a for a in answers if a[1] >= 500] == [], "a 5xx under concurrency"
    assert [a for a in answers if a[1] != a[2]] == []
    with served.gw.sessions() as db:
        entries = db.scalars(select(AuditEntry).where(AuditEntry.id > before)).all()
    written = Counter((f"{e.actor}:{e.action}", e.target) for e in entries)
    sign_ins = Counter({k: v for k, v in written.items() if k[0].endswith(":login.ok")})
    assert written - sign_ins == expected
    verify = subprocess.run(
        [sys.executable, "-m", "gateway", "audit", "verify"],
        env=served.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"intact: {db_count(served)} entries" in verify.stdout


def db_count(served: Served) -> int:
    with served.gw.sessions() as db:
        return len(db.scalars(select(AuditEntry.id)).all())
