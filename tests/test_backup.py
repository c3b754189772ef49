"""`backup create` / `backup restore` through the real command line, on the embedded default.

A data directory is made as `demo` makes it (keys in `keys.env`, SQLite,
the spool), cases with attachments are filed and worked, and the backup
is restored into a fresh directory: every case must be listed, every PIN
must open its case through the status look-up, every attachment must
decrypt to the same bytes, and the spool must load. Anything wrong with
the backup or the target refuses with exit code 2 and writes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy import select

from gateway.cases import lookup
from gateway.cases.reports import NewAttachment, NewReport
from gateway.channel_packages import load_channels
from gateway.core import runtime
from gateway.core.backup_file import MAGIC
from gateway.core.config import KEYS_FILE, Settings, read_keys_file, write_keys_file
from gateway.core.inbound import InboundMessage
from gateway.core.migrate import current_revision, upgrade
from gateway.core.models import Attachment, Case, InboundEvent, Report
from gateway.core.runtime import Gateway
from gateway.work import spool
from gateway.work.backup import BACKUP_NAME
from gateway.work.reporter import submit_report
from tests.support.jobs import run_jobs
from tests.support.media_samples import image, pdf_with_metadata

PASSPHRASE = "seven lanterns over the river"
NARRATIVE_WORD = "Quartermaster"
RECORDING = "demo-twilio-recordings/RE0123"


def cli(*args: str, cwd: Path, stdin: str = PASSPHRASE + "\n", **env: str):  # type: ignore[no-untyped-def]
    """The real entry point, with neither keys nor DATABASE_URL in its environment."""
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        input=stdin,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=180,
    )


def refusal(result) -> str:  # type: ignore[no-untyped-def]
    """The one line of a refusal (exit code 2)."""
    lines = [line for line in result.stderr.splitlines() if "error:" in line]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def open_gateway(data_dir: Path, redis_url: str, **extra: str) -> Gateway:
    """A gateway on `data_dir` whose keys come only from the data directory's keys.env."""
    load_channels()
    return Gateway.from_settings(
        Settings.load(environ={"REDIS_URL": redis_url, **extra}, data_dir=data_dir)
    )


@dataclass
class Filed:
    data_dir: Path
    receipts: dict[str, str] = field(default_factory=dict)  # case number -> PIN
    attachments: dict[str, list[bytes]] = field(default_factory=dict)  # number -> plain bytes


def attachments_of(gw: Gateway) -> dict[str, list[bytes]]:
    with gw.sessions() as session:
        rows = session.execute(
            select(Case.case_number, Attachment.data_enc)
            .join(Report, Report.case_id == Case.id)
            .join(Attachment, Attachment.report_id == Report.id)
            .order_by(Attachment.id)
        ).all()
    found: dict[str, list[bytes]] = {}
    for number, data_enc in rows:
        found.setdefault(number, []).append(gw.cipher.decrypt(data_enc))
    return found


@pytest.fixture
def redis_url(embedded_redis_url: str) -> Iterator[str]:
    redis_lib.Redis.from_url(embedded_redis_url).flushdb()
    yield embedded_redis_url
    redis_lib.Redis.from_url(embedded_redis_url).flushdb()


@pytest.fixture
def filed(tmp_path: Path, sqlite_template: Path, redis_url: str, tracker) -> Filed:  # type: ignore[no-untyped-def]
    """An embedded data directory with three worked cases, two with attachments, and a spool."""
    data_dir = tmp_path / "var"
    write_keys_file(data_dir)
    shutil.copy(sqlite_template, data_dir / "gateway.db")
    (data_dir / "demo.env").write_text("GATEWAY_DEMO_TRACKER=1\n")  # a running demo's
    (data_dir / "redis.log").write_text("the embedded Redis's log\n")
    (data_dir / RECORDING).parent.mkdir()
    (data_dir / RECORDING).write_bytes(b"RIFF a recording the worker has not fetched")
    gw = open_gateway(
        data_dir,
        redis_url,
        CASE_TRACKER_URL=tracker.url,
        CASE_TRACKER_SECRET=tracker.secret,
        FORWARD_RETRY_DELAYS="0,0,0",
    )
    result = Filed(data_dir)
    uploads = [[image("JPEG")], [pdf_with_metadata(), image("PNG")], []]
    for index, files in enumerate(uploads):
        report = NewReport(
            narrative=f"{NARRATIVE_WORD} at the depot, report {index}",
            language="fr",
            attachments=[NewAttachment("application/octet-stream", data) for data in files],
        )
        receipt = submit_report(gw, report, channel="web")
        result.receipts[receipt.case_number] = receipt.pin
    runtime.install(gw)
    try:
        run_jobs(gw)
    finally:
        runtime.uninstall()
    result.attachments = attachments_of(gw)
    assert sorted(len(v) for v in result.attachments.values()) == [1, 2]
    spool.write(gw, [spooled_message()])
    gw.close()
    return result


def small_data_dir(data_dir: Path, sqlite_template: Path) -> Filed:
    """Keys, an empty database and one spooled file: enough where no case is looked at."""
    write_keys_file(data_dir)
    shutil.copy(sqlite_template, data_dir / "gateway.db")
    (data_dir / "spool").mkdir(mode=0o700)
    (data_dir / "spool" / "0123abcd.msg").write_bytes(b"sealed with the data key")
    return Filed(data_dir)


@pytest.fixture
def small(tmp_path: Path, sqlite_template: Path) -> Filed:
    return small_data_dir(tmp_path / "var", sqlite_template)


def spooled_message() -> InboundMessage:
    return InboundMessage(
        channel="oneshot",
        provider="testsms",
        provider_message_id="spooled-before-the-backup",
        sender="+243810000077",
        text=f"{NARRATIVE_WORD} came back at night",
        language_hint="fr",
        received_at=datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
    )


def create(filed: Filed, tmp_path: Path, **env: str) -> Path:
    passphrase_file = tmp_path / "passphrase"
    passphrase_file.write_text(PASSPHRASE + "\n")
    backup = tmp_path / "backups" / "monday"
    result = cli(
        "backup",
        "create",
        str(backup),
        "--data-dir",
        str(filed.data_dir),
        "--passphrase-file",
        str(passphrase_file),
        cwd=tmp_path,
        stdin="",
        **env,
    )
    assert result.returncode == 0, result.stderr
    assert f"cases: {len(filed.receipts)}" in result.stdout
    return backup


def test_a_restored_data_dir_opens_every_case_pin_attachment_and_spooled_message(
    filed: Filed, tmp_path: Path, redis_url: str
) -> None:
    backup = create(filed, tmp_path)
    sealed = backup / BACKUP_NAME
    assert oct(sealed.stat().st_mode & 0o777) == "0o600"
    assert oct(backup.stat().st_mode & 0o777) == "0o700"
    raw = sealed.read_bytes()
    data_key = read_keys_file(filed.data_dir)["GATEWAY_DATA_KEY"]
    for plain in [NARRATIVE_WORD, data_key, "GATEWAY_DATA_KEY", "SQLite format 3"]:
        assert plain.encode() not in raw, plain
    for number in filed.receipts:
        assert number.replace("-", "").encode() not in raw  # in clear in the database only

    restored = tmp_path / "restored"
    result = cli("backup", "restore", str(backup), "--data-dir", str(restored), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for path in [p for p in restored.rglob("*") if p.is_file()]:
        assert oct(path.stat().st_mode & 0o777) == "0o600", path
    assert (restored / KEYS_FILE).exists() and not (restored / "demo.env").exists()
    assert (restored / RECORDING).read_bytes() == (filed.data_dir / RECORDING).read_bytes()
    assert not (restored / "redis.log").exists()

    listed = cli("cases", "list", "--json", "--data-dir", str(restored), cwd=tmp_path, stdin="")
    assert listed.returncode == 0, listed.stderr
    assert sorted(c["case_number"] for c in json.loads(listed.stdout)) == sorted(filed.receipts)

    gw = open_gateway(restored, redis_url)
    try:
        for number, pin in filed.receipts.items():
            with gw.sessions() as session, session.begin():
                found = lookup.check(session, gw, number, pin, channel="web")
            assert found.answer is lookup.Answer.FOUND and found.case.case_number == number.replace(
                "-", ""
            )
        with gw.sessions() as session, session.begin():
            wrong = lookup.check(session, gw, number, "000000", channel="web")
        assert wrong.answer is lookup.Answer.WRONG
        assert attachments_of(gw) == filed.attachments
        assert spool.pending(gw) == 1 and spool.load(gw) == 1
        with gw.sessions() as session:
            event = session.scalars(select(InboundEvent)).one()
            assert gw.cipher.decrypt_json(event.payload_enc)["sender"] == "+243810000077"
    finally:
        gw.close()


def header_alone(data: bytes) -> bytes:
    return data[: data.index(b"\n", len(MAGIC)) + 1]


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Path:
    """One backup of a small data directory, made once for the tests that spoil a copy."""
    where = tmp_path_factory.mktemp("sealed")
    return create(small_data_dir(where / "var", sqlite_template), where)


@pytest.mark.parametrize(
    ("spoil", "passphrase", "target_exists"),
    [
        (None, "not the passphrase at all", False),
        (None, "not the passphrase at all", True),
        (flip_a_byte, PASSPHRASE, True),
        (lambda p: p.write_bytes(p.read_bytes()[:-40]), PASSPHRASE, False),
        (lambda p: p.write_bytes(p.read_bytes() + b"\0" * 40), PASSPHRASE, False),
        (lambda p: p.write_bytes(header_alone(p.read_bytes())), PASSPHRASE, False),
    ],
    ids=[
        "wrong-passphrase",
        "wrong-passphrase-empty-dir",
        "changed-byte",
        "cut-off",
        "appended",
        "header-only",
    ],
)
def test_a_bad_passphrase_or_a_spoilt_file_is_refused_and_writes_nothing(
    sealed: Path, tmp_path: Path, spoil, passphrase: str, target_exists: bool
) -> None:  # type: ignore[no-untyped-def]
    backup = tmp_path / "copy"
    shutil.copytree(sealed, backup)
    if spoil is not None:
        spoil(backup / BACKUP_NAME)
    restored = tmp_path / "restored"
    if target_exists:
        restored.mkdir()
    result = cli(
        "backup",
        "restore",
        str(backup),
        "--data-dir",
        str(restored),
        cwd=tmp_path,
        stdin=passphrase + "\n",
    )
    assert "wrong passphrase, or the file was changed" in refusal(result)
    assert (list(restored.iterdir()) == []) if target_exists else not restored.exists()


def test_a_restore_into_a_data_dir_in_use_is_refused(small: Filed, tmp_path: Path) -> None:
    filed = small
    backup = create(filed, tmp_path)
    before = {p: p.read_bytes() for p in filed.data_dir.rglob("*") if p.is_file()}
    result = cli("backup", "restore", str(backup), "--data-dir", str(filed.data_dir), cwd=tmp_path)
    assert "is not empty" in refusal(result)
    assert {p: p.read_bytes() for p in filed.data_dir.rglob("*") if p.is_file()} == before


def test_create_refuses_a_used_directory_a_short_passphrase_and_postgresql(
    small: Filed, tmp_path: Path
) -> None:
    filed = small
    backup = create(filed, tmp_path)
    again = cli("backup", "create", str(backup), "--data-dir", str(filed.data_dir), cwd=tmp_path)
    assert "not an empty directory" in refusal(again)
    short = cli(
        "backup",
        "create",
        str(tmp_path / "short"),
        "--data-dir",
        str(filed.data_dir),
        cwd=tmp_path,
        stdin="too short\n",
    )
    assert "at least 12 characters" in refusal(short) and not (tmp_path / "short").exists()
    postgres = cli(
        "backup",
        "create",
        str(tmp_path / "pg"),
        "--data-dir",
        str(filed.data_dir),
        cwd=tmp_path,
        DATABASE_URL="postgresql:///gateway",
    )
    assert "pg_dump" in refusal(postgres) and not (tmp_path / "pg").exists()


def test_keys_only_with_postgresql_restores_the_keys_and_no_database(
    small: Filed, tmp_path: Path
) -> None:
    filed = small
    backup = tmp_path / "keys"
    made = cli(
        "backup",
        "create",
        str(backup),
        "--keys-only",
        "--data-dir",
        str(filed.data_dir),
        cwd=tmp_path,
        DATABASE_URL="postgresql:///gateway",
    )
    assert made.returncode == 0, made.stderr
    restored = tmp_path / "restored"
    result = cli(
        "backup",
        "restore",
        str(backup),
        "--data-dir",
        str(restored),
        cwd=tmp_path,
        DATABASE_URL="postgresql:///gateway",
    )
    assert result.returncode == 0, result.stderr
    assert "restore PostgreSQL with pg_restore" in result.stdout
    assert read_keys_file(restored) == read_keys_file(filed.data_dir)
    assert not (restored / "gateway.db").exists()
    assert len(list((restored / "spool").iterdir())) == 1


def test_a_full_backup_is_not_restored_beside_a_postgresql_database_url(
    small: Filed, tmp_path: Path
) -> None:
    filed = small
    backup = create(filed, tmp_path)
    restored = tmp_path / "restored"
    result = cli(
        "backup",
        "restore",
        str(backup),
        "--data-dir",
        str(restored),
        cwd=tmp_path,
        DATABASE_URL="postgresql:///gateway",
    )
    assert "unset DATABASE_URL" in refusal(result) and not restored.exists()


def test_a_backup_of_an_older_schema_is_migrated_on_restore(tmp_path: Path) -> None:
    data_dir = tmp_path / "old"
    write_keys_file(data_dir)
    upgrade(f"sqlite:///{data_dir / 'gateway.db'}", "0010")
    backup = create(Filed(data_dir), tmp_path)
    restored = tmp_path / "restored"
    result = cli("backup", "restore", str(backup), "--data-dir", str(restored), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert current_revision(f"sqlite:///{restored / 'gateway.db'}") == "0011"
    assert "revision 0011" in result.stdout


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from gateway.channel_packages import load_channels
    from gateway.cases.reports import NewReport
    from gateway.core.config import Settings
    from gateway.core.runtime import Gateway
    from gateway.work.reporter import submit_report

    load_channels()
    gw = Gateway.from_settings(Settings.load(environ={}, data_dir=Path(sys.argv[1])))
    while True:
        receipt = submit_report(gw, NewReport(narrative="written on", language="en"), channel="web")
        print(receipt.case_number, receipt.pin, flush=True)
    """
)


def test_a_backup_taken_while_a_writer_files_cases_is_consistent(
    filed: Filed, tmp_path: Path, redis_url: str
) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(filed.data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={"PATH": os.environ["PATH"]},
        cwd=tmp_path,
    )
    try:
        assert writer.stdout is not None
        written = [writer.stdout.readline().split() for _ in range(5)]  # it is writing
        backup = tmp_path / "during"
        made = cli("backup", "create", str(backup), "--data-dir", str(filed.data_dir), cwd=tmp_path)
        assert made.returncode == 0, made.stderr
    finally:
        writer.kill()
        writer.wait()
    restored = tmp_path / "restored"
    result = cli("backup", "restore", str(backup), "--data-dir", str(restored), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(restored / "gateway.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        count = db.execute("SELECT count(*) FROM cases").fetchone()[0]
    assert count >= len(filed.receipts) + len(written)
    gw = open_gateway(restored, redis_url)
    try:
        for number, pin in [*filed.receipts.items(), *written]:
            with gw.sessions() as session, session.begin():
                assert lookup.check(session, gw, number, pin, channel="web").answer is (
                    lookup.Answer.FOUND
                )
    finally:
        gw.close()
