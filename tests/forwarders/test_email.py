"""E-mail alerts against a local SMTP server (aiosmtpd), with and without STARTTLS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from gateway.cases.reports import Affected, NewReport
from gateway.core import runtime
from gateway.core.config import ConfigError, Settings
from gateway.core.models import OutboxEntry
from gateway.core.runtime import Gateway
from gateway.forwarders import build
from gateway.work.reporter import submit_report
from tests.conftest import KEYS
from tests.support.jobs import run_jobs
from tests.support.smtp import Inbox

NARRATIVE = "The commander of the north post forced her"


def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"mail-pass"
    return AuthResult(success=ok)


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(params=["starttls", "loopback-relay"])
def smtp(request, tmp_path) -> Iterator[tuple[Inbox, dict[str, str]]]:  # type: ignore[no-untyped-def]
    import ssl

    inbox = Inbox()
    settings = {}
    with socket.socket() as probe:  # aiosmtpd checks its own port, so it needs a real one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    if request.param == "starttls":
        cert, key = self_signed(tmp_path)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        controller = Controller(
            inbox,
            hostname="127.0.0.1",
            port=port,
            tls_context=context,
            require_starttls=True,
            authenticator=authenticator,
            auth_require_tls=True,
        )
        settings = {"SMTP_STARTTLS": "true", "SMTP_CA_FILE": str(cert)}
    else:
        controller = Controller(
            inbox,
            hostname="127.0.0.1",
            port=port,
            authenticator=authenticator,
            auth_require_tls=False,
        )
        settings = {"SMTP_STARTTLS": "false"}
    controller.start()
    settings["SMTP_URL"] = f"smtp://alerts:mail-pass@127.0.0.1:{port}"
    yield inbox, settings
    controller.stop()


@pytest.fixture
def egw(env, tmp_path, smtp) -> Iterator[Gateway]:  # type: ignore[no-untyped-def]
    _, smtp_settings = smtp
    settings = Settings.from_mapping(
        {
            **env,
            **smtp_settings,
            "FORWARDERS": "webhook,email",
            "ALERT_EMAIL_FROM": "gateway@mission.test",
            "ALERT_EMAIL_TO": "fp1@mission.test, fp2@mission.test",
        },
        tmp_path,
    )
    gateway = runtime.install(Gateway.from_settings(settings))
    yield gateway
    gateway.close()


def test_one_alert_per_address_without_the_report(egw, smtp, tracker) -> None:  # type: ignore[no-untyped-def]
    inbox, _ = smtp
    receipt = submit_report(
        egw,
        NewReport(
            narrative=NARRATIVE,
            language="en",
            danger_now=True,
            affected=Affected.CHILD,
            location="north post",
        ),
        channel="web",
    )
    run_jobs(egw)
    assert [rcpts for rcpts, _ in inbox.messages] == [["fp1@mission.test"], ["fp2@mission.test"]]
    for _, raw in inbox.messages:
        mail = message_from_bytes(raw)
        text = mail.get_payload(decode=True).decode()
        assert receipt.case_number in mail["Subject"] and "URGENT" in mail["Subject"]
        assert "commander" not in raw.decode() and "north post" not in raw.decode()
        assert f"http://gateway.test/console/cases/{receipt.case_number}" in text
        assert "fp2" not in mail["To"] or "fp1" not in mail["To"]
    run_jobs(egw)
    assert len(inbox.messages) == 2


def test_a_refused_address_is_dead_lettered_and_the_others_are_not_repeated(egw, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, _ = smtp
    inbox.refuse = {"fp2@mission.test"}
    submit_report(egw, NewReport(narrative="x", language="en"), channel="web")
    run_jobs(egw)
    with egw.sessions() as session:
        entry = session.scalars(select(OutboxEntry).where(OutboxEntry.target == "email")).one()
    assert entry.state == "dead" and entry.last_error == "recipient 2 refused"
    inbox.refuse = set()
    from gateway.work.forwarding import retry_dead

    retry_dead(egw)
    run_jobs(egw)
    assert [r for r, _ in inbox.messages] == [["fp1@mission.test"], ["fp2@mission.test"]]


def test_password_in_clear_to_a_remote_relay_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {
        **KEYS,
        "SMTP_URL": "smtp://u:p@mail.mission.test:25",
        "SMTP_STARTTLS": "false",
        "ALERT_EMAIL_FROM": "a@b.test",
        "ALERT_EMAIL_TO": "c@d.test",
    }
    with pytest.raises(ConfigError, match="SMTP_STARTTLS"):
        build("email", Settings.from_mapping(env, tmp_path))


def test_server_down_is_retried(env, tmp_path, tracker) -> None:  # type: ignore[no-untyped-def]
    settings = Settings.from_mapping(
        {
            **env,
            "FORWARDERS": "email",
            "SMTP_URL": "smtp://127.0.0.1:1",
            "SMTP_STARTTLS": "false",
            "ALERT_EMAIL_FROM": "a@b.test",
            "ALERT_EMAIL_TO": "c@d.test",
        },
        tmp_path,
    )
    gw = runtime.install(Gateway.from_settings(settings))
    try:
        submit_report(gw, NewReport(narrative="x", language="en"), channel="web")
        run_jobs(gw)
        with gw.sessions() as session:
            entry = session.scalars(select(OutboxEntry)).one()
        assert entry.state == "dead" and "cannot reach SMTP server" in entry.last_error
        assert entry.attempts == 4
    finally:
        gw.close()
