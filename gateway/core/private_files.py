"""Everything the gateway writes under its data directory is for its own user alone.

The data directory holds the SQLite database (with its -wal and -shm), the
generated keys, the embedded Redis's socket and log, the spool, the demo's
recordings and exports: read by another account on the machine, it gives
away reports (the database is encrypted, but its keys are beside it).
Every command sets the process umask to 0o077, so what it creates is 0600
(files) or 0700 (directories), and the children it starts (gunicorn, the
worker, redis-server) inherit it; and a data directory left readable by an
older version is tightened at start, with a log line that says so.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
SHARED_BITS = stat.S_IRWXG | stat.S_IRWXO


def private_umask() -> int:
    """Set the process umask to 0o077; returns the previous one."""
    return os.umask(PRIVATE_UMASK)


def tighten(data_dir: Path) -> int:
    """Remove group and other permissions under `data_dir`; returns how many entries changed.

    Only entries owned by this user are changed (others cannot be, and are
    named in a warning); symbolic links are not followed.
    """
    if not data_dir.is_dir():
        return 0
    changed, foreign = 0, 0
    uid = os.geteuid()
    for path in [data_dir, *_walk(data_dir)]:
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue  # removed meanwhile (a spool file loaded, a socket closed)
        if stat.S_ISLNK(info.st_mode) or not info.st_mode & SHARED_BITS:
            continue
        if info.st_uid != uid:
            foreign += 1
            continue
        try:
            os.chmod(path, stat.S_IMODE(info.st_mode) & ~SHARED_BITS)
        except FileNotFoundError:
            continue
        changed += 1
    if changed:
        log.warning(
            "the data directory %s was readable by other users: %s entr%s made owner-only",
            data_dir,
            changed,
            "y" if changed == 1 else "ies",
        )
    if foreign:
        log.warning(
            "%s entr%s under %s belong to another user and stay readable by others:"
            " change their owner or permissions",
            foreign,
            "y" if foreign == 1 else "ies",
            data_dir,
        )
    return changed


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    for directory, subdirs, files in os.walk(root, followlinks=False):
        found += [Path(directory, name) for name in (*subdirs, *files)]
    return found
