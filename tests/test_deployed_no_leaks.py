"""As deployed, the processes write nothing that exposes a reporter or a secret (issue 16).

The real processes, driven from outside over HTTP, as a provider, a
browser and a caller reach them:

- `complaint-gateway serve` (gunicorn) and `complaint-gateway worker` on
  PostgreSQL (a schema of their own) and Redis;
- `complaint-gateway demo` (SQLite, its embedded Redis, its own serve and
  worker), from a clean environment and a new data directory.

Every channel is driven against each: Twilio SMS and WhatsApp (signed as
Twilio signs), Africa's Talking (`?key=`), Kannel's get-url and post-url
(a 700-letter Arabic SMS among them), Telegram's webhook (secret header),
the web form (behind a trusted proxy, X-Forwarded-For) with a status
look-up and a reply, a status check by SMS with case number and PIN, the
hotline's status check (keyed case number and PIN, signed), the case
tracker's signed callback, and requests that gunicorn itself refuses
(a malformed request line and header quoting a number and a report, a
request line longer than any SMS). The worker files the reports (after
INTAKE_TIMEOUT_SECONDS of silence) and forwards them to a local tracker;
the providers' APIs are local servers.

Then EVERYTHING the processes wrote is searched: stdout and stderr
(gunicorn's access and error logs among them), every file under the data
directory byte for byte (SQLite database, embedded Redis's files, spool),
every key and value in Redis (RQ's job data unpacked), every column of
every table. Searched for: the senders' numbers in every form (E.164,
without +, national, percent-encoded), the Telegram chat id and names,
the distinctive words of each report (as UTF-8, percent-encoded, UTF-16),
the client's addresses, a case number beside its PIN in the logs, and
every configured secret, which may be only in the demo's keys file (0600);
the demo prints the admin's one-time password and TOTP secret, by
contract, and nothing else does. The data directories are owner-only.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from cryptography.fernet import Fernet

from gateway.core import embedded_redis
from gateway.web.request_limits import MAX_REQUEST_LINE
from tests.channels.hotline_ivr import phone as ivr_phone
from tests.channels.sms import harness
from tests.channels.telegram.conftest import TOKEN as TELEGRAM_TOKEN
from tests.channels.telegram.conftest import Reporter as TelegramReporter
from tests.channels.ussd.conftest import Phone as UssdPhone
from tests.channels.web_form.conftest import receipt_of, send_report
from tests.channels.web_form.nojs import Browser, main_form
from tests.support import providers
from tests.support.outside import SmsReporter, receipt_in, send_sms
from tests.support.private_servers import free_port
from tests.support.providers import ProviderAPI
from tests.support.scan import (
    Run,
    case_and_pin_logged,
    collect,
    everywhere,
    number_forms,
    raw_request,
    secrets_exposed,
    shared_files,
    word_forms,
)
from tests.support.served import (
    CLIENT_ADDRESS,
    HttpClient,
    Process,
    base_env,
    fresh_pg_schema,
    wait_healthy,
    wait_until,
)
from tests.support.telegram_api import TelegramAPI
from tests.support.tracker import TrackerServer
from tests.test_tracker_events import post as post_tracker_callback

pytestmark = pytest.mark.slow

PUBLIC_BASE_URL = harness.PUBLIC_BASE_URL  # what Twilio signs; the processes are told the same
FORWARDED_IP = "198.51.100.77"  # the browser's address, as a trusted proxy reports it
PLACE = "Zanzibarkoni"
FOCAL_MESSAGE = "Come to Tanganyikahall on Monday"
REPLY = "Sergeant Mbekizulu came again"
ARABIC_WORD = "زنجبارستان"
ARABIC_SMS = " ".join([ARABIC_WORD] * 70)  # 700 letters (769 characters): 12 UCS-2 parts
SECRETS = {
    "CASE_TRACKER_SECRET": "made-up-tracker-secret-deployed-7071",
    **harness.CHANNEL_SECRETS,
}
TELEGRAM_USER = {
    "id": 7700000042,
    "is_bot": False,
    "first_name": "Zawadikazi",
    "last_name": "Mwangaza",
    "username": "zawadi_hidden_77",
    "language_code": "en",
}
CALLER = "+243810000077"


TWILIO_SMS = SmsReporter("twilio-sms", "twilio", "+243810000081", "Okonkwoleon")
WHATSAPP = SmsReporter(
    "whatsapp", "twilio", "+243810000078", "Kiberitimba", "whatsapp:+243810000078"
)
AFRICASTALKING = SmsReporter("africastalking", "africastalking", "+243810000079", "Mwakilemba")
KANNEL_GET = SmsReporter("kannel-get", "kannel-get", "+243810000080", "Bakongololo")
KANNEL_POST = SmsReporter("kannel-post", "kannel-post", "+243810000082", "Tshisekedulu")
KANNEL_ARABIC = SmsReporter("kannel-arabic", "kannel-get", "+243810000083", ARABIC_WORD)
SMS_REPORTERS = (TWILIO_SMS, WHATSAPP, AFRICASTALKING, KANNEL_GET, KANNEL_POST, KANNEL_ARABIC)
USSD_DONE = SmsReporter("ussd", "africastalking", "+243810000084", "Ngombelonga")
USSD_CUT = SmsReporter("ussd-cut", "africastalking", "+243810000085", "Kisangamboka")
TELEGRAM_WORD = "Lukundulaba"
WEB_WORD = "Kabasellemba"


# --- the run: start, drive every channel, collect what was written ----------------------------


def provider_settings(
    api: ProviderAPI, telegram: TelegramAPI, tracker: TrackerServer
) -> dict[str, str]:
    return {
        **api.settings(),
        **SECRETS,
        "CASE_TRACKER_URL": tracker.url,
        "TELEGRAM_API_BASE_URL": telegram.url,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "GATEWAY_TRUSTED_PROXIES": "1",
        "INTAKE_TIMEOUT_SECONDS": "2",
        "SWEEP_INTERVAL_SECONDS": "1",
        "FORWARD_RETRY_DELAYS": "0,1,1",
        "GATEWAY_JOB_LEASE_SECONDS": "30",
    }


def texts_to(run: Run, reporter: SmsReporter) -> list[str]:
    return [run.api.text_of(call) for call in run.api.sent(reporter.to)]


def drive(run: Run, port: int) -> None:
    """Every channel, from outside, against the running deployment."""
    client = HttpClient(run.base_url)
    telegram = TelegramReporter(client, None, run.telegram, user=TELEGRAM_USER)
    for reporter in SMS_REPORTERS:
        text_ = ARABIC_SMS if reporter is KANNEL_ARABIC else reporter.statement(PLACE)
        run.answers[reporter.label] = send_sms(client, reporter, text_)
    run.answers["telegram"] = telegram.post(
        telegram.message(text=f"{TELEGRAM_WORD} took money for food behind {PLACE} market")
    )

    # The web form, from behind a trusted proxy that names the browser's address.
    client.headers["X-Forwarded-For"] = FORWARDED_IP
    browser = Browser(client)
    page = send_report(browser, narrative=f"{WEB_WORD} asked for money at {PLACE}", follow_up="yes")
    run.receipts["web"] = receipt_of(page.get_data(as_text=True))
    number, pin = run.receipts["web"]
    callback = post_tracker_callback(
        client,
        run.secrets["CASE_TRACKER_SECRET"],
        {"case_number": number, "status": "in_progress", "message": FOCAL_MESSAGE},
    )
    run.answers["tracker callback"] = callback.status_code
    lookup = main_form(browser.get("/status").get_data(as_text=True)).fill(number=number, pin=pin)
    found = browser.submit(lookup).get_data(as_text=True)
    run.answers["web status shows the message"] = 200 if FOCAL_MESSAGE in found else 404
    if 'name="text"' in found:
        run.answers["web reply"] = browser.submit(main_form(found).fill(text=REPLY)).status_code
    del client.headers["X-Forwarded-For"]

    # USSD: a session walked to its last screen (a `*` typed in the statement), and one the
    # operator cuts after the statement, whose reporter agreed to an SMS receipt.
    # The finished one says "not sure" to the last question (who did it).
    for reporter, consent, last in ((USSD_DONE, "2", ("2", "0")), (USSD_CUT, "1", ())):
        phone = UssdPhone(client, f"ATUid_{reporter.label}", reporter.number, key=harness.AT_KEY)
        phone.dial()
        for value in ("1", "1", "1", "2", consent, f"{reporter.word} * near {PLACE}", *last):
            phone.press(value)
        run.answers[reporter.label] = 200 if phone.screens[-1][:4] in ("CON ", "END ") else 500
        found = re.search(r"(\d{4}-\d{6}-\d)\nPIN: (\d{3}) (\d{3})", phone.screens[-1])
        if found:
            run.receipts[reporter.label] = (found.group(1), found.group(2) + found.group(3))

    # The hotline: a caller checks the web report by keypad (case number #, PIN #).
    call = ivr_phone.Phone(client, caller=CALLER, token=providers.TWILIO_TOKEN)  # type: ignore[arg-type]
    call.dial().press("1").press("2").press(re.sub(r"\D", "", number) + "#").press(pin + "#")
    run.answers["hotline status check"] = call.hang_up()

    # gunicorn's own refusals, quoting a number and a report in what it refuses.
    spaced = f"GET /sms/kannel?from=%2B{KANNEL_GET.number[1:]}&text={KANNEL_GET.word} at {PLACE}"
    run.answers["malformed request line"] = raw_request(
        port, f"{spaced} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    )
    run.answers["malformed header"] = raw_request(
        port, f"GET /healthz HTTP/1.1\r\nHost: x\r\nX {KANNEL_GET.word}: 1\r\n\r\n".encode()
    )
    target = "/sms/kannel?text=" + "A" * (MAX_REQUEST_LINE - 16)  # one byte over the bound
    longest = f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n"
    run.answers["request line over the limit"] = raw_request(port, longest.encode())

    # The receipts (filed after INTAKE_TIMEOUT_SECONDS of silence), then a status check by SMS.
    for reporter in SMS_REPORTERS:
        run.receipts[reporter.label] = wait_until(
            f"the receipt to {reporter.label}",
            lambda r=reporter: receipt_in(texts_to(run, r)),
            run.processes,
        )
    run.receipts[USSD_CUT.label] = wait_until(
        "the SMS receipt of the cut USSD session",
        lambda: receipt_in(texts_to(run, USSD_CUT)),
        run.processes,
    )
    run.receipts["telegram"] = wait_until(
        "the receipt on Telegram",
        lambda: receipt_in([m.get("text", "") for m in run.telegram.sent(TELEGRAM_USER["id"])]),
        run.processes,
    )
    case, pin = run.receipts[KANNEL_GET.label]
    before = len(texts_to(run, KANNEL_GET))
    run.answers["status by sms"] = send_sms(client, KANNEL_GET, f"STATUS {case} {pin}")
    wait_until(
        "the answer to STATUS", lambda: len(texts_to(run, KANNEL_GET)) > before, run.processes
    )
    wait_until(
        "every case at the tracker",
        lambda: len(run.tracker.cases) >= len(SMS_REPORTERS) + 4,
        run.processes,
    )
    client.close()


# --- the two deployments -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(request: pytest.FixtureRequest, real_redis_url: str) -> Iterator[Run]:
    """`serve` + `worker` on PostgreSQL and Redis, driven once for the module."""
    tracker = TrackerServer(secret=SECRETS["CASE_TRACKER_SECRET"]).start()
    api, telegram = ProviderAPI().start(), TelegramAPI(TELEGRAM_TOKEN).start()
    root = Path(tempfile.mkdtemp(prefix="cg-deployed-"))
    request.addfinalizer(lambda: shutil.rmtree(root, ignore_errors=True))
    data_dir, logs = root / "var", root / "logs"
    logs.mkdir()
    data_dir.mkdir(mode=0o755)  # as an administrator may have made it: made owner-only at start
    os.chmod(data_dir, 0o755)  # noqa: S103 - whatever the test's umask
    port = free_port()
    redis_lib.Redis.from_url(real_redis_url).flushdb()
    keys = {
        "GATEWAY_SECRET_KEY": "made-up-flask-secret-deployed-4142",
        "GATEWAY_DATA_KEY": Fernet.generate_key().decode(),
        "GATEWAY_PSEUDONYM_KEY": "made-up-pseudonym-key-deployed-1732",
    }
    with fresh_pg_schema() as database_url:
        env = base_env(
            **provider_settings(api, telegram, tracker),
            **keys,
            DATABASE_URL=database_url,
            REDIS_URL=real_redis_url,
        )
        common = ["--data-dir", str(data_dir)]
        processes = [
            Process.start(
                "serve",
                ["serve", "--port", str(port), "--workers", "1", "--threads", "4", *common],
                env,
                logs,
                root,
            ),
            Process.start("worker", ["worker", *common], env, logs, root),
        ]
        run = Run(
            "serve+worker",
            f"http://127.0.0.1:{port}",
            data_dir,
            processes,
            tracker,
            api,
            telegram,
            {**SECRETS, **keys},
            real_redis_url,
            database_url,
        )
        try:
            wait_healthy(run.base_url, processes)
            drive(run, port)
            collect(run)
            yield run
        finally:
            for process in processes:
                process.stop()
            tracker.stop()
            api.stop()
            telegram.stop()
    redis_lib.Redis.from_url(real_redis_url).flushdb()


@pytest.fixture(scope="module")
def demo(request: pytest.FixtureRequest) -> Iterator[Run]:
    """`demo` in a new data directory, from a clean environment, driven once for the module."""
    tracker = TrackerServer(secret=SECRETS["CASE_TRACKER_SECRET"]).start()
    api, telegram = ProviderAPI().start(), TelegramAPI(TELEGRAM_TOKEN).start()
    root = Path(tempfile.mkdtemp(prefix="cg-deployed-demo-"))
    request.addfinalizer(lambda: shutil.rmtree(root, ignore_errors=True))
    data_dir, logs = root / "var", root / "logs"
    logs.mkdir()
    port = free_port()
    env = base_env(**provider_settings(api, telegram, tracker))
    process = Process.start(
        "demo", ["demo", "--port", str(port), "--data-dir", str(data_dir)], env, logs, root
    )
    run = Run(
        "demo",
        f"http://127.0.0.1:{port}",
        data_dir,
        [process],
        tracker,
        api,
        telegram,
        dict(SECRETS),
        embedded_redis.url(data_dir),
        f"sqlite:///{data_dir / 'gateway.db'}",
    )
    try:
        wait_healthy(run.base_url, [process])
        keys = dict(
            line.split("=", 1)
            for line in (data_dir / "keys.env").read_text().splitlines()
            if "=" in line and not line.startswith("#")
        )
        run.secrets.update(keys)
        drive(run, port)
        collect(run)
        yield run
    finally:
        process.stop()
        tracker.stop()
        api.stop()
        telegram.stop()


# --- what may not be found ---------------------------------------------------------------------


def reporter_data() -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {}
    for reporter in SMS_REPORTERS:
        found[f"{reporter.label} number"] = [f.encode() for f in number_forms(reporter.number)]
        found[f"{reporter.label} report"] = word_forms(reporter.word)
    found["whatsapp profile name"] = word_forms("Kiberiti")
    for reporter in (USSD_DONE, USSD_CUT):
        found[f"{reporter.label} number"] = [f.encode() for f in number_forms(reporter.number)]
        found[f"{reporter.label} report"] = word_forms(reporter.word)
    found["caller number"] = [f.encode() for f in number_forms(CALLER)]
    found["telegram chat id"] = [str(TELEGRAM_USER["id"]).encode()]
    for name in ("first_name", "last_name", "username"):
        found[f"telegram {name}"] = word_forms(str(TELEGRAM_USER[name]))
    found["telegram report"] = word_forms(TELEGRAM_WORD)
    found["web report"] = word_forms(WEB_WORD)
    found["place"] = word_forms(PLACE)
    found["focal point's message"] = word_forms("Tanganyikahall")
    found["reporter's reply"] = word_forms("Mbekizulu")
    found["client address"] = [CLIENT_ADDRESS.encode(), FORWARDED_IP.encode()]
    return found


# --- the tests ---------------------------------------------------------------------------------

SMS_LABELS = tuple(r.label for r in SMS_REPORTERS) + ("status by sms",)


def answered(run: Run) -> list[str]:
    """Every channel took its message in; gunicorn's refusals are 400 and 414, never a 5xx."""
    expected = {
        **dict.fromkeys(SMS_LABELS, 200),
        "telegram": 200,
        "tracker callback": 200,
        "web status shows the message": 200,
        "hotline status check": 200,
        USSD_DONE.label: 200,
        USSD_CUT.label: 200,
        "malformed request line": 400,
        "malformed header": 400,
        "request line over the limit": 414,
    }
    got = {name: run.answers.get(name) for name in expected}
    problems = [
        f"{name}: {got[name]}, not {want}" for name, want in expected.items() if got[name] != want
    ]
    if run.answers.get("web reply", 200) != 200:
        problems.append(f"web reply: {run.answers['web reply']}")
    return problems


def forwarded(run: Run) -> list[str]:
    """The 700-letter Arabic SMS by get-url, and the post-url report, are cases at the tracker."""
    narratives = [(case.get("narrative") or "").strip() for case in run.tracker.cases.values()]
    problems = []
    if ARABIC_SMS.strip() not in narratives:
        problems.append("the 700-letter Arabic SMS by get-url is not a case at the tracker")
    if not any(KANNEL_POST.word in n for n in narratives):
        problems.append("the post-url report is not a case at the tracker")
    return problems


def reporters_exposed(run: Run) -> list[str]:
    haystacks = everywhere(run)
    if b"POST /sms/twilio" not in b"".join(run.outputs.values()) or not (
        run.redis and run.database
    ):
        return ["the access log, Redis or the database was not read"]
    return [
        f"{what} ({form!r}) in {where}"
        for what, forms in reporter_data().items()
        for where, data in haystacks.items()
        for form in forms
        if form in data
    ]


def admin_credentials_elsewhere(run: Run) -> list[str]:
    """The demo prints the admin's one-time password and TOTP secret once; nothing else has them."""
    printed = run.outputs["demo stdout"].decode()
    found = [
        re.search(rf"{label} (\S+)", printed) for label in ("one-time password", "TOTP secret")
    ]
    if not all(found):
        return ["the demo did not print the admin's credentials"]
    values = [match.group(1) for match in found if match]
    return [
        f"the admin's credentials in {where}"
        for value in values
        for where, data in everywhere(run).items()
        if value.encode() in data and (where != "demo stdout" or printed.count(value) != 1)
    ]


CHECKS = (
    answered,
    forwarded,
    reporters_exposed,
    case_and_pin_logged,
    secrets_exposed,
    shared_files,
)


def problems_of(run: Run) -> list[str]:
    return [f"{check.__name__}: {problem}" for check in CHECKS for problem in check(run)]


def test_serve_and_worker_on_postgres_expose_nothing(served: Run) -> None:
    problems = problems_of(served)
    assert not problems, "\n".join(problems)


def test_the_demo_exposes_nothing(demo: Run) -> None:
    problems = problems_of(demo) + admin_credentials_elsewhere(demo)
    if stat.S_IMODE((demo.data_dir / "keys.env").stat().st_mode) != 0o600:
        problems.append("keys.env is not 0600")
    assert "gateway.db" in demo.files, "the SQLite database was searched"
    assert not problems, "\n".join(problems)


def test_an_older_world_readable_data_dir_is_made_owner_only(tmp_path: Path) -> None:
    """A data directory made by an older version (0755, files 0644) is tightened at start."""
    data_dir = tmp_path / "var"
    (data_dir / "spool").mkdir(parents=True)
    for name in ("gateway.db", "gateway.db-wal", "keys.env", "redis.log", "spool/a.msg"):
        (data_dir / name).write_bytes(b"x")
        os.chmod(data_dir / name, 0o644)
    for directory in (data_dir, data_dir / "spool"):
        os.chmod(directory, 0o755)  # noqa: S103 - what an older version left
    process = Process.start(
        "keys", ["keys", "generate", "--data-dir", str(data_dir)], base_env(), tmp_path, tmp_path
    )
    assert process.popen.wait(timeout=60) == 0, process.tail()
    modes = {
        str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode))
        for p in [data_dir, *data_dir.rglob("*")]
    }
    assert modes == {
        "var": "0o700",
        "var/spool": "0o700",
        "var/spool/a.msg": "0o600",
        "var/gateway.db": "0o600",
        "var/gateway.db-wal": "0o600",
        "var/keys.env": "0o600",
        "var/redis.log": "0o600",
    }
    logged = process.stderr.read_text()
    assert "readable by other users: 7 entries made owner-only" in logged, logged
