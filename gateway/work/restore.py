"""`backup restore`: a sealed backup back into an empty data directory, or nothing at all.

Everything is opened and checked before a file reaches its place: the
members go to a staging directory inside the new data directory, and only
when the last chunk has been authenticated and every member matches the
manifest's SHA-256 are they moved into place. A wrong passphrase, a changed
byte or a cut-off file leaves the data directory as it was (or absent).
A database of an older schema is then migrated, as `db upgrade` would.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from alembic.script import ScriptDirectory
from alembic.util import CommandError

from gateway.core.backup_file import BackupDecryptError, BackupError, SealedReader
from gateway.core.migrate import alembic_config, current_revision, upgrade
from gateway.work import spool
from gateway.work.backup import (
    BACKUP_NAME,
    DB_MEMBER,
    FILES_PREFIX,
    FULL,
    KEYS_MEMBER,
    MANIFEST,
    SPOOL_PREFIX,
    sqlite_path,
)

DECRYPT_FAILED = "the backup cannot be opened: wrong passphrase, or the file was changed or cut off"


@dataclass(frozen=True)
class Restored:
    kind: str
    files: int
    cases: int | None
    revision: str | None


def _allowed(name: str) -> bool:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or name != path.as_posix():
        return False
    if name in (DB_MEMBER, KEYS_MEMBER, MANIFEST):
        return True
    if name.startswith(SPOOL_PREFIX):
        return len(path.parts) == 2 and not path.name.startswith(".")
    return name.startswith(FILES_PREFIX) and len(path.parts) > 1


def _write(stream: IO[bytes], target: Path) -> dict[str, object]:
    """Copy a member to `target` (0600, new); its hash and size, as the manifest has them."""
    digest, size = hashlib.sha256(), 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while block := stream.read(1 << 20):
            digest.update(block)
            size += len(block)
            out.write(block)
    return {"sha256": digest.hexdigest(), "size": size}


def _unpack(source: Path, staging: Path, passphrase: str) -> dict[str, object]:
    """Open and verify the whole backup into `staging`; its manifest."""
    seen: dict[str, dict[str, object]] = {}
    manifest: dict[str, object] | None = None
    with source.open("rb") as raw:
        try:
            reader = SealedReader(raw, passphrase)
            with tarfile.open(fileobj=reader, mode="r|") as archive:  # type: ignore[call-overload]
                for member in archive:
                    if not member.isfile() or not _allowed(member.name) or member.name in seen:
                        raise BackupError(f"the backup holds an unexpected entry: {member.name!r}")
                    stream = archive.extractfile(member)
                    assert stream is not None  # noqa: S101 - a regular file has one
                    if member.name == MANIFEST:
                        manifest = json.loads(stream.read())
                        continue
                    target = staging / member.name
                    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                    seen[member.name] = _write(stream, target)
            reader.finish()
        except BackupDecryptError:
            raise BackupError(DECRYPT_FAILED) from None
        except (tarfile.TarError, ValueError) as exc:
            raise BackupError(f"the backup's contents are damaged ({type(exc).__name__})") from None
    if manifest is None or manifest.get("members") != seen:
        raise BackupError("the backup's contents do not match its manifest")
    return manifest


def _known_revision(revision: str | None, database_url: str) -> None:
    """Refuse a database from a newer gateway before anything is put in place."""
    if revision is None:
        return
    try:
        ScriptDirectory.from_config(alembic_config(database_url)).get_revision(revision)
    except CommandError:
        raise BackupError(
            f"the backup's database is at revision {revision}, which this version of the"
            " gateway does not know: restore it with the version that made it, or newer"
        ) from None


def _check_target(data_dir: Path, env: Mapping[str, str], kind: object) -> Path | None:
    """Where the database goes; refuses a DATABASE_URL that is not the data directory's."""
    if kind != FULL:
        return None
    wanted = (data_dir / "gateway.db").resolve()
    configured = env.get("DATABASE_URL", "").strip()
    if configured and sqlite_path(configured) != wanted:
        raise BackupError(
            "DATABASE_URL is set: this backup holds an embedded (SQLite) database, which goes"
            f" to {wanted}; unset DATABASE_URL to restore it (PostgreSQL: pg_restore,"
            " docs/deployment.md 'Backups')"
        )
    return wanted


def restore(backup_dir: Path, data_dir: Path, passphrase: str, env: Mapping[str, str]) -> Restored:
    """Restore the backup in `backup_dir` into `data_dir`, which must be empty or absent."""
    source = backup_dir / BACKUP_NAME
    if not source.is_file():
        raise BackupError(f"there is no backup in {backup_dir} (no {BACKUP_NAME})")
    if data_dir.exists() and (not data_dir.is_dir() or any(data_dir.iterdir())):
        raise BackupError(
            f"{data_dir} is not empty: a backup is restored only into an empty or new data"
            " directory (--data-dir)"
        )
    made_here = not data_dir.exists()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = data_dir / f".restore-{secrets.token_hex(6)}"
    staging.mkdir(mode=0o700)
    try:
        manifest = _unpack(source, staging, passphrase)
        database = _check_target(data_dir, env, manifest.get("kind"))
        revision = manifest.get("schema_revision")
        if database is not None:
            _known_revision(
                revision if isinstance(revision, str) else None, f"sqlite:///{database}"
            )
        spooled = spool.spool_directory(env.get("GATEWAY_SPOOL_DIR"), data_dir)
        # The database and the keys first: no other member may take their place.
        staged = [p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file()]
        for name in sorted(staged, key=lambda n: (n not in (DB_MEMBER, KEYS_MEMBER), n)):
            path = staging / name
            if name == DB_MEMBER and database is not None:
                target = database
            elif name.startswith(SPOOL_PREFIX):
                target = spooled / name.removeprefix(SPOOL_PREFIX)
            elif name == KEYS_MEMBER:
                target = data_dir / KEYS_MEMBER
            else:
                target = data_dir / name.removeprefix(FILES_PREFIX)
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if target.exists():
                continue  # a spooled message already waiting there is the same message
            shutil.move(path, target)
    except BaseException:
        # The data directory was empty or absent: it is left so.
        shutil.rmtree(staging, ignore_errors=True)
        if made_here:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            for entry in data_dir.iterdir():
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        raise
    shutil.rmtree(staging, ignore_errors=True)
    if database is not None:
        upgrade(f"sqlite:///{database}")  # a backup of an older schema, as `db upgrade`
        revision = current_revision(f"sqlite:///{database}")
    members = manifest.get("members")
    cases = manifest.get("cases")
    return Restored(
        kind=str(manifest.get("kind")),
        files=len(members) if isinstance(members, dict) else 0,
        cases=cases if isinstance(cases, int) else None,
        revision=revision if isinstance(revision, str) else None,
    )
