"""Health, metrics, configuration errors, users, audit chain, retention, attachment links."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gateway.cases import audit
from gateway.cases.reports import NewAttachment, NewReport
from gateway.console.users import UserError, create_user
from gateway.core.accounts import AuditEntry, User
from gateway.core.config import ConfigError, Settings
from gateway.core.models import Case, InboundEvent, OutboundMessage
from gateway.core.runtime import QUEUE_NAMES, Gateway, redis_from_url
from gateway.forwarders.payload import attachment_link
from gateway.work.reporter import submit_report
from gateway.work.retention import purge
from tests.conftest import KEYS
from tests.support.jobs import run_jobs
from tests.support.media_samples import pdf_with_metadata


def test_healthz_ok(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok", "failed": []}


def test_healthz_names_redis_when_it_is_down(app, gw) -> None:  # type: ignore[no-untyped-def]
    app.extensions["gateway"] = replace(gw, redis=redis_from_url("redis://127.0.0.1:1/0"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["failed"] == ["redis"]


def test_healthz_names_the_database_when_it_is_down(app, gw, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gateway.core.db import make_engine

    broken = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    app.extensions["gateway"] = replace(gw, engine=broken)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["failed"] == ["database"]


def test_metrics_count_without_personal_data(client, gw) -> None:  # type: ignore[no-untyped-def]
    submit_report(
        gw, NewReport(narrative="Corporal at the water point", language="fr"), channel="web"
    )
    body = client.get("/metrics").get_data(as_text=True)
    assert 'gateway_reports_total{channel="web"} 1.0' in body
    assert 'gateway_queue_depth{queue="forwarding"} 1.0' in body
    assert 'gateway_forwarding_outbox{state="pending",target="webhook"} 1.0' in body
    assert "Corporal" not in body


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("GATEWAY_DATA_KEY", "GATEWAY_DATA_KEY"),
        ("GATEWAY_PSEUDONYM_KEY", "GATEWAY_PSEUDONYM_KEY"),
        ("GATEWAY_SECRET_KEY", "GATEWAY_SECRET_KEY"),
    ],
)
def test_missing_key_is_one_clear_line(missing: str, named: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in KEYS.items() if k != missing}
    with pytest.raises(ConfigError, match=named):
        Settings.from_mapping(env, tmp_path)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GATEWAY_DATA_KEY", "short"),
        ("FORWARD_RETRY_DELAYS", "10,soon"),
        ("INTAKE_TIMEOUT_SECONDS", "fifteen"),
        ("CASE_TRACKER_URL", "ftp://x"),
    ],
)
def test_malformed_setting_is_named(name: str, value: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {**KEYS, "CASE_TRACKER_SECRET": "s", name: value}
    with pytest.raises(ConfigError, match=name):
        Settings.from_mapping(env, tmp_path)


def test_cli_stops_with_one_line_naming_the_missing_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"PATH": "/usr/bin:/bin", "GATEWAY_SECRET_KEY": "x", "GATEWAY_PSEUDONYM_KEY": "y"}
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "cases", "list", "--data-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "GATEWAY_DATA_KEY" in lines[0]


def test_worker_refuses_to_start_without_a_tracker_url(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"PATH": "/usr/bin:/bin", **KEYS}
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "worker", "--burst", "--data-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2 and "CASE_TRACKER_URL" in result.stderr


def test_users_create_and_audit_chain(gw) -> None:  # type: ignore[no-untyped-def]
    with gw.sessions() as session, session.begin():
        user = create_user(session, gw.cipher, "amina", "focal_point")
        with pytest.raises(UserError):
            create_user(session, gw.cipher, "amina", "admin")
        with pytest.raises(UserError):
            create_user(session, gw.cipher, "bob", "superuser")
        audit.record(session, "amina", "case.view", "42")
    assert len(user.password) >= 12 and len(user.totp_secret) == 32
    with gw.sessions() as session:
        stored = session.scalars(select(User)).one()
        assert user.password not in stored.password_hash
        assert gw.cipher.decrypt(stored.totp_secret_enc).decode() == user.totp_secret
        assert audit.verify(session) == (True, None)
    with gw.sessions() as session, session.begin():
        first = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).first()
        first.target = "someone-else"
    with gw.sessions() as session:
        ok, bad_id = audit.verify(session)
        assert not ok and bad_id == first.id


def test_users_create_command_prints_password_and_totp(env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "users",
            "create",
            "--role",
            "admin",
            "chief",
            "--data-dir",
            str(tmp_path),
        ],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "one-time password" in result.stdout and "TOTP secret" in result.stdout


def test_purge_forgets_reply_addresses_and_raw_payloads(gw) -> None:  # type: ignore[no-untyped-def]
    receipt = submit_report(
        gw,
        NewReport(narrative="x", language="en", follow_up=True),
        channel="sms",
        reply_address="+243810000006",
    )
    old = datetime.now(UTC) - timedelta(days=gw.settings.retention_days + 35)
    with gw.sessions() as session, session.begin():
        case = session.get(Case, receipt.case_id)
        assert case.reply_address_enc is not None
        case.received_at = old
        case.status = "closed"  # closed without forgetting the address (as before 2026)
        session.add(
            InboundEvent(
                channel="sms",
                provider="p",
                provider_message_id="1",
                sender_pseudonym="x",
                payload_enc=gw.cipher.encrypt_json({"sender": "+243810000006"}),
                received_at=old,
                created_at=old,
                state="done",
                processed_at=old,
            )
        )
        session.add(
            OutboundMessage(
                channel="sms",
                provider="p",
                address_enc=gw.cipher.encrypt(b"+243810000006"),
                body_enc=gw.cipher.encrypt(b"PIN 123456"),
                dedupe_key="k",
                state="dead",
                created_at=old,
            )
        )
    counts = purge(gw)
    assert counts == {
        "reply addresses": 1,
        "inbound payloads": 1,
        "outbound messages": 1,
        "closed cases": 0,  # closed without a date: kept (tests/test_retention.py)
    }
    with gw.sessions() as session:
        assert session.get(Case, receipt.case_id).reply_address_enc is None
        event = session.scalars(select(InboundEvent)).one()
        assert gw.cipher.decrypt_json(event.payload_enc) == {}
        message = session.scalars(select(OutboundMessage)).one()
        assert gw.cipher.decrypt(message.body_enc) == b""


def test_reply_address_kept_only_with_consent(gw) -> None:  # type: ignore[no-untyped-def]
    receipt = submit_report(
        gw,
        NewReport(narrative="x", language="en", follow_up=False),
        channel="sms",
        reply_address="+243810000007",
    )
    with gw.sessions() as session:
        assert session.get(Case, receipt.case_id).reply_address_enc is None


def test_attachment_link_is_signed_and_expires(client, gw) -> None:  # type: ignore[no-untyped-def]
    original = pdf_with_metadata()
    receipt = submit_report(
        gw,
        NewReport(
            narrative="see file",
            language="en",
            attachments=[NewAttachment("application/pdf", original)],
        ),
        channel="web",
    )
    run_jobs(gw)  # the worker cleans the file into an attachment
    with gw.sessions() as session:
        attachment = session.get(Case, receipt.case_id).report.attachments[0]
        pdf = gw.cipher.decrypt(attachment.data_enc)
        assert pdf not in attachment.data_enc and pdf.startswith(b"%PDF")
    url, _ = attachment_link(gw, attachment.id, datetime.now(UTC))
    path = url.removeprefix(gw.settings.public_base_url)
    response = client.get(path)
    assert response.status_code == 200 and response.data == pdf
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get(path[:-3] + "abc").status_code == 403
    forged = Gateway.from_settings(replace(gw.settings, secret_key="another key"))
    other, _ = attachment_link(forged, attachment.id, datetime.now(UTC))
    assert client.get(other.removeprefix(gw.settings.public_base_url)).status_code == 403
    forged.close()


def test_forwarders_test_command_reports_each_target(env, tracker, tmp_path) -> None:  # type: ignore[no-untyped-def]
    command = [sys.executable, "-m", "gateway", "forwarders", "test", "--data-dir", str(tmp_path)]
    result = subprocess.run(
        command, env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "webhook: delivered (HTTP 201)" in result.stdout
    [request] = tracker.requests
    assert request.signature_ok and request.schema_error is None
    assert request.body["narrative"].startswith("TEST:")
    tracker.script = [500]
    result = subprocess.run(
        command, env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "webhook: retry (HTTP 500)" in result.stdout


# --- what a new user of `demo` tripped over (issue: port, tracker page, worker log) ---


@pytest.mark.parametrize("command", ["demo", "serve"])
@pytest.mark.parametrize(
    ("flags", "port_variable", "expected"),
    [
        ([], None, 8080),
        ([], "9123", 9123),
        (["--port", "9124"], "9123", 9124),
        ([], "not-a-port", None),
        ([], "70000", None),
    ],
)
def test_port_comes_from_the_flag_then_the_PORT_variable(  # type: ignore[no-untyped-def]
    command, flags, port_variable, expected, monkeypatch, tmp_path, capsys
) -> None:
    from gateway import cli
    from gateway.cli import running

    ports: list[int] = []
    monkeypatch.setattr(running, "run_demo", lambda data_dir, port, host: ports.append(port) or 0)
    monkeypatch.setattr(running, "run_server", lambda s, host, port, w, t: ports.append(port) or 0)
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    if port_variable is None:
        monkeypatch.delenv("PORT", raising=False)
    else:
        monkeypatch.setenv("PORT", port_variable)
    code = cli.main([command, *flags, "--data-dir", str(tmp_path)])
    if expected is None:
        assert code == 2 and ports == []
        assert capsys.readouterr().err.strip().splitlines() == [
            f"error: PORT must be a port number (1-65535), got {port_variable!r}"
        ]
    else:
        assert code == 0 and ports == [expected]


def test_idle_worker_waits_for_jobs_within_its_redis_timeout(gw, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """RQ blocks up to its dequeue timeout for a job: the socket must wait longer than that.

    With the 30 s of every other client, an idle worker logged an ERROR
    ("Timeout reading from …redis.sock") every 30 s.
    """
    from rq import SimpleWorker

    from gateway import processes

    built: list[SimpleWorker] = []
    monkeypatch.setattr(SimpleWorker, "work", lambda self, **kwargs: built.append(self))
    assert processes.run_worker(gw.settings, sweeper=False) == 0
    [worker] = built
    socket_timeout = worker.connection.connection_pool.connection_kwargs["socket_timeout"]
    assert socket_timeout > worker.dequeue_timeout
    assert {id(queue.connection) for queue in worker.queues} == {id(worker.connection)}
    assert tuple(queue.name for queue in worker.queues) == QUEUE_NAMES
    assert gw.redis.connection_pool.connection_kwargs["socket_timeout"] == 30


def test_demo_tracker_page_lists_what_it_received_and_no_report_text(  # type: ignore[no-untyped-def]
    gw, env, tmp_path
) -> None:
    import json

    from gateway.app import create_app
    from gateway.forwarders.webhook import signed_headers
    from gateway.web.demo_tracker import RECEIVED_KEY

    settings = Settings.from_mapping({**env, "GATEWAY_DEMO_TRACKER": "1"}, tmp_path)
    client = create_app(gateway=replace(gw, settings=settings)).test_client()
    gw.redis.delete(RECEIVED_KEY)
    assert client.get("/_demo/tracker").status_code == 200  # nothing yet: still a page

    def deliver(payload: dict[str, object], secret: str = env["CASE_TRACKER_SECRET"]) -> int:
        body = json.dumps(payload).encode()
        headers = signed_headers(secret, body, "key-1")
        return client.post("/_demo/tracker", data=body, headers=headers).status_code

    case = {
        "case_number": "2026-<b>7</b>",
        "received_at": "2026-05-01T10:00:00Z",
        "channel": "sms",
        "narrative": "the narrative stays with the tracker",
        "location": "a secret place",
    }
    assert deliver(case) == 204
    assert (
        deliver(
            {
                "event": "status_changed",
                "case_number": "2026-<b>7</b>",
                "status": "closed",
                "changed_at": "2026-05-02T09:00:00Z",
            }
        )
        == 204
    )
    assert deliver({**case, "case_number": "2026-8"}, secret="not-the-secret") == 403

    page = client.get("/_demo/tracker")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "2026-&lt;b&gt;7&lt;/b&gt;" in html and "<b>" not in html
    assert "2026-05-01T10:00:00Z (sms)" in html and "closed (2026-05-02T09:00:00Z)" in html
    assert "narrative stays" not in html and "secret place" not in html
    assert "2026-8" not in html and "<script" not in html
    gw.redis.delete(RECEIVED_KEY)
