"""`backup create`: an online, consistent, sealed copy of what an embedded gateway keeps.

What is in it (docs/deployment.md, "Backups"):

- the SQLite database, copied by SQLite's online backup API: one snapshot,
  taken while `serve` and `worker` go on writing (WAL readers do not block
  writers), checked with `PRAGMA integrity_check`. Attachments are inside it,
  encrypted (`attachments.data_enc`);
- the keys the database is encrypted with, as the settings have them (from
  the environment or the data directory's `keys.env`), as `keys.env`;
- the spool (messages taken while the database was down, not in it yet),
  read *before* the database is copied: a message loaded in between is in
  the copy, one in both is loaded once (its provider id is unique);
- every other regular file of the data directory (the demo's recordings),
  but not the embedded Redis (its queues are rebuilt from the database by
  the sweeper), a running demo's `demo.env`, sockets, logs or other backups.

A manifest with each member's SHA-256 comes last. With PostgreSQL the
database is left to `pg_dump`; `keys_only` seals the rest.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import sqlite3
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gateway.core.backup_file import BackupError, SealedWriter
from gateway.core.config import DEMO_SETTINGS_FILE, KEYS_FILE, REQUIRED_KEYS, Settings
from gateway.core.db import WRITER_LOCK_SUFFIX
from gateway.work import spool

BACKUP_NAME = "gateway-backup.cgb"
DB_MEMBER = "database/gateway.db"
KEYS_MEMBER = KEYS_FILE
MANIFEST = "MANIFEST.json"
FILES_PREFIX = "files/"
SPOOL_PREFIX = "spool/"
FULL, KEYS_ONLY = "full", "keys-only"
# What SQLite keeps beside a database file, and the lock file its writers queue on.
SQLITE_ENDS = ("-wal", "-shm", "-journal")
SQLITE_BESIDE = (*SQLITE_ENDS, WRITER_LOCK_SUFFIX)
# Never in a backup: the embedded Redis (rebuilt from the database), and what `create` makes.
# `demo.env` lives while a demo runs (processes.py removes it); restored, it would stop
# `serve` and `worker` from starting on the restored directory.
SKIPPED_NAMES = {KEYS_FILE, DEMO_SETTINGS_FILE, "redis.sock", "redis.log", "dump.rdb"} | {
    f"gateway.db{end}"
    for end in ("", *SQLITE_BESIDE)  # copied, or left to pg_dump
}
SKIPPED_PREFIXES = (".backup-", ".restore-", ".gateway-backup")
POSTGRES_HINT = (
    "the database is PostgreSQL: back it up with pg_dump (docs/deployment.md, 'Backups');"
    " `backup create --keys-only DIR` seals the keys and the spool"
)


@dataclass(frozen=True)
class Made:
    path: Path
    kind: str
    members: int
    cases: int | None


def sqlite_path(database_url: str) -> Path | None:
    """The file of an SQLite URL; None for any other database."""
    if not database_url.startswith("sqlite"):
        return None
    return Path(database_url.split("///", 1)[-1]).resolve()


def _mkdir_empty(destination: Path) -> bool:
    """Make `destination` (0700) or accept it empty; True when it was made here."""
    if destination.exists():
        if not destination.is_dir() or any(destination.iterdir()):
            raise BackupError(
                f"{destination} is not an empty directory: a backup is never written over"
                " another; choose a new directory"
            )
        return False
    destination.mkdir(parents=True, mode=0o700)
    return True


def _spool_files(directory: Path) -> Iterator[tuple[str, bytes]]:
    """Each spooled message once; one claimed by a loader goes back as waiting."""
    if not directory.is_dir():
        return
    seen: set[str] = set()
    for path in sorted(directory.iterdir()):
        name = path.name
        if name.endswith(spool.CLAIMED_SUFFIX) and name.startswith("."):
            name = name.removeprefix(".").split(".", 1)[0] + spool.SUFFIX
        elif not name.endswith((spool.SUFFIX, spool.BAD_SUFFIX)) or name.startswith("."):
            continue  # a message being written (.tmp) was not yet answered for
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue  # loaded meanwhile: the database copy, taken after, has it
        if name not in seen:
            seen.add(name)
            yield SPOOL_PREFIX + name, data


def _other_files(data_dir: Path, skip: set[Path]) -> Iterator[tuple[str, Path]]:
    """Regular files of the data directory that no other member stands for."""
    if not data_dir.is_dir():
        return
    for directory, subdirs, files in os.walk(data_dir, followlinks=False):
        here = Path(directory)
        subdirs[:] = sorted(
            d
            for d in subdirs
            if (here / d).resolve() not in skip
            and not d.startswith(SKIPPED_PREFIXES)
            and not (here / d / BACKUP_NAME).exists()
        )
        for name in sorted(files):
            path = here / name
            if (
                (here == data_dir and name in SKIPPED_NAMES)
                or name.startswith(SKIPPED_PREFIXES)
                or path.resolve() in skip
                or path.is_symlink()
                or not path.is_file()
            ):
                continue
            yield FILES_PREFIX + path.relative_to(data_dir).as_posix(), path


def _copy_database(source: Path, copy: Path) -> tuple[int, str | None]:
    """A consistent copy of a live SQLite file; (number of cases, schema revision)."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(copy)
    try:
        src.backup(dst)  # all pages in one step: one snapshot, writers go on
        dst.execute("PRAGMA journal_mode=DELETE")  # the copy is one file
        (check,) = dst.execute("PRAGMA integrity_check").fetchone()
        if check != "ok":
            raise BackupError(f"the database copy fails SQLite's integrity check: {check}")
        (cases,) = dst.execute("SELECT count(*) FROM cases").fetchone()
        row = dst.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"the database could not be copied: {exc}") from None
    finally:
        dst.close()
        src.close()
    return int(cases), (row[0] if row else None)


def _keys(settings: Settings) -> bytes:
    values = {
        "GATEWAY_SECRET_KEY": settings.secret_key,
        "GATEWAY_DATA_KEY": settings.data_key,
        "GATEWAY_PSEUDONYM_KEY": settings.pseudonym_key,
    }
    lines = ["# Restored by complaint-gateway backup restore. Keep secret."]
    lines += [f"{name}={values[name]}" for name in REQUIRED_KEYS]
    return ("\n".join(lines) + "\n").encode()


class _Packer:
    """Adds members to the sealed tar and keeps their hashes for the manifest."""

    def __init__(self, archive: tarfile.TarFile) -> None:
        self.archive, self.hashes = archive, {}  # type: ignore[var-annotated]

    def _info(self, name: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o600, int(datetime.now(UTC).timestamp())
        return info

    def add_bytes(self, name: str, data: bytes) -> None:
        self.hashes[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        self.archive.addfile(self._info(name, len(data)), io.BytesIO(data))

    def add_file(self, name: str, path: Path) -> None:
        digest, size = hashlib.sha256(), 0
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
            fh.seek(0)
            self.hashes[name] = {"sha256": digest.hexdigest(), "size": size}
            self.archive.addfile(self._info(name, size), fh)


def create(settings: Settings, destination: Path, passphrase: str, keys_only: bool = False) -> Made:
    """Seal a backup into the new or empty directory `destination`."""
    database = sqlite_path(settings.database_url)
    if database is None and not keys_only:
        raise BackupError(POSTGRES_HINT)
    destination = destination.resolve()
    made_here = _mkdir_empty(destination)
    final = destination / BACKUP_NAME
    partial = destination / f".{BACKUP_NAME}.partial"
    token = secrets.token_hex(6)
    copy = (database.parent if database else settings.data_dir) / f".backup-{token}.db"
    spooled = spool.spool_directory(settings.get("GATEWAY_SPOOL_DIR"), settings.data_dir)
    skip = {destination, copy, spooled.resolve()}
    if database is not None:
        skip |= {database, *(Path(f"{database}{end}") for end in SQLITE_BESIDE)}
    cases: int | None = None
    revision: str | None = None
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            writer = SealedWriter(out, passphrase)
            with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as archive:  # type: ignore[call-overload]
                packer = _Packer(archive)
                for name, data in _spool_files(spooled):
                    packer.add_bytes(name, data)
                for name, path in _other_files(settings.data_dir, skip):
                    packer.add_file(name, path)
                if database is not None and not keys_only:
                    cases, revision = _copy_database(database, copy)
                    packer.add_file(DB_MEMBER, copy)
                packer.add_bytes(KEYS_MEMBER, _keys(settings))
                manifest = {
                    "format": 1,
                    "kind": KEYS_ONLY if keys_only else FULL,
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "schema_revision": revision,
                    "cases": cases,
                    "members": packer.hashes,
                }
                packer.add_bytes(MANIFEST, json.dumps(manifest, indent=1).encode())
            writer.close()
            out.flush()
            os.fsync(out.fileno())
        os.rename(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        if made_here:
            destination.rmdir()
        raise
    finally:
        for end in ("", *SQLITE_ENDS):
            Path(f"{copy}{end}").unlink(missing_ok=True)
    return Made(final, KEYS_ONLY if keys_only else FULL, len(packer.hashes) + 1, cases)
