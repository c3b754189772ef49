"""What a deployed gateway wrote, as bytes to search, and how a value may be written there.

- `redis_bytes`: every key and value of a Redis database, raw, RQ's job
  data unpacked (zlib; the pickle holds strings as UTF-8);
- `database_bytes`: every column of every table, text as UTF-8 and
  binary as stored;
- `number_forms`, `word_forms`: a phone number or a word in every form it
  could take in a log, a URL or a file;
- `raw_request`: bytes sent to a server as they are (a request that no
  HTTP client would send), from the tests' client address;
- `Run`: one deployment driven by a test, and what `collect` gathered of
  it; `everywhere` is all of that by name, and `case_and_pin_logged`,
  `secrets_exposed` and `shared_files` are checks any such test can use.
"""

from __future__ import annotations

import re
import socket
import stat
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import redis as redis_lib
from sqlalchemy import create_engine, inspect, text

from tests.support.providers import ProviderAPI
from tests.support.served import CLIENT_ADDRESS, Process
from tests.support.telegram_api import TelegramAPI
from tests.support.tracker import TrackerServer


def redis_bytes(url: str) -> bytes:
    """Every key and value, raw, with RQ's job data unpacked."""
    connection = redis_lib.Redis.from_url(url)
    parts: list[bytes] = []
    for key in connection.scan_iter("*"):
        parts.append(key)
        kind = connection.type(key).decode()
        if kind == "string":
            parts.append(connection.get(key) or b"")
        elif kind == "hash":
            for name, value in connection.hgetall(key).items():
                parts += [name, value]
                if key.startswith(b"rq:job:") and name == b"data":
                    parts.append(zlib.decompress(value))
        elif kind == "list":
            parts += connection.lrange(key, 0, -1)
        elif kind == "set":
            parts += list(connection.smembers(key))
        elif kind == "zset":
            parts += connection.zrange(key, 0, -1)
        elif kind == "stream":
            parts += [repr(entry).encode() for entry in connection.xrange(key)]
    connection.close()
    return b"\n".join(parts)


def database_bytes(url: str) -> bytes:
    """Every column of every table, text as UTF-8 and binary as it is stored."""
    engine = create_engine(url)
    parts: list[bytes] = []
    try:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                for row in conn.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
                    for value in row:
                        if isinstance(value, bytes | memoryview):
                            parts.append(bytes(value))
                        elif value is not None:
                            parts.append(str(value).encode())
    finally:
        engine.dispose()
    return b"\n".join(parts)


def number_forms(number: str) -> list[str]:
    """E.164, without +, national without the country code, percent-encoded."""
    digits = number.lstrip("+")
    return [number, digits, digits[3:], quote(number, safe=""), quote(number, safe="").lower()]


def word_forms(word: str) -> list[bytes]:
    """A word as UTF-8, percent-encoded (both cases of hex), UTF-16 (UCS-2) both ways."""
    encoded = quote(word, safe="")
    return [
        word.encode(),
        encoded.encode(),
        encoded.lower().encode(),
        word.encode("utf-16-be"),
        word.encode("utf-16-le"),
    ]


def raw_request(port: int, request: bytes) -> int:
    """Send bytes to the server from the test's client address; the status it answers (0: none)."""
    with socket.create_connection(("127.0.0.1", port), source_address=(CLIENT_ADDRESS, 0)) as s:
        answer = b""
        try:
            s.sendall(request)
            s.shutdown(socket.SHUT_WR)
            while chunk := s.recv(65536):
                answer += chunk
        except OSError:
            pass  # the server closed first: what it answered, if anything, is in `answer`
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


@dataclass
class Run:
    """One deployment (serve + worker, or demo), driven once; what the tests look at."""

    name: str
    base_url: str
    data_dir: Path
    processes: list[Process]
    tracker: TrackerServer
    api: ProviderAPI
    telegram: TelegramAPI
    secrets: dict[str, str]
    redis_url: str
    database_url: str
    receipts: dict[str, tuple[str, str]] = field(default_factory=dict)
    answers: dict[str, int] = field(default_factory=dict)  # status codes that were checked
    outputs: dict[str, bytes] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    redis: bytes = b""
    database: bytes = b""


def collect(run: Run) -> None:
    """Read Redis and the database, stop the processes, read their output and the data dir."""
    run.redis = redis_bytes(run.redis_url)
    run.database = database_bytes(run.database_url)
    for process in run.processes:
        process.stop()
    for process in run.processes:
        run.outputs[f"{process.name} stdout"] = process.stdout.read_bytes()
        run.outputs[f"{process.name} stderr"] = process.stderr.read_bytes()
    for path in sorted(run.data_dir.rglob("*")):
        if path.is_file() and not path.is_socket():
            run.files[str(path.relative_to(run.data_dir))] = path.read_bytes()


def everywhere(run: Run) -> dict[str, bytes]:
    """Everything the deployment wrote, by where it was found."""
    return {
        **run.outputs,
        **{f"file {name}": data for name, data in run.files.items()},
        "redis": run.redis,
        "database": run.database,
    }


def case_and_pin_logged(run: Run) -> list[str]:
    """A case number and its PIN on one line of any process's output."""
    problems = []
    for label, (number, pin) in run.receipts.items():
        digits = re.sub(r"\D", "", number)
        for where, data in run.outputs.items():
            for line in data.decode(errors="replace").splitlines():
                if (number in line or digits in line) and pin in line:
                    problems.append(f"{label}'s case number and PIN in {where}")
    return problems


def secrets_exposed(run: Run) -> list[str]:
    """Every configured secret, anywhere but the keys file."""
    return [
        f"{name} in {where}"
        for name, value in run.secrets.items()
        for where, data in everywhere(run).items()
        if where != "file keys.env" and value.encode() in data
    ]


def shared_files(run: Run) -> list[str]:
    """What under the data directory another account could read (or enter)."""
    problems = []
    for path in [run.data_dir, *run.data_dir.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            problems.append(f"{path.relative_to(run.data_dir)} is {oct(mode)}")
    return problems
