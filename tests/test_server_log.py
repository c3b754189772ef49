"""gunicorn's logs through the gateway's logger: what each kind of record becomes.

The whole path (real `serve` and `demo`, every channel, everything they
wrote) is tests/test_deployed_no_leaks.py; this table pins each rule.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from gateway.web.server_log import (
    ACCESS_LOG_FORMAT,
    ErrorLogFilter,
    PrivateLogger,
    clean,
    masked_path,
)

NUMBER, WORD, IP = "+243810000080", "Bakongololo", "198.51.100.77"

ERROR_LOG = [
    (
        f"Invalid request from ip={IP}: Invalid HTTP request line: "
        f"'GET /sms/kannel?from={NUMBER}&text={WORD} at the market HTTP/1.1'",
        "invalid request refused: Invalid HTTP request line",
    ),
    (
        f"Invalid request from ip={IP}: Invalid HTTP Header: 'X-Note: {WORD}'",
        "invalid request refused: Invalid HTTP Header",
    ),
    (
        f"Invalid request from ip={IP}: Request Line is too large (262200 > 262144)",
        "invalid request refused: Request Line is too large (262200 > 262144)",
    ),
    (
        f"Error handling request GET /sms/kannel?from={NUMBER}&text={WORD}",
        "Error handling request GET /sms/kannel?…",
    ),
    ("Listening at: http://127.0.0.1:8080 (4242)", "Listening at: http://127.0.0.1:8080 (4242)"),
    (f"Socket error from {IP}", "Socket error from [ip]"),
    # One record, one line: what a request puts in a message cannot forge another.
    (
        "Error handling request /r\n[2026-12-05 10:00:00 +0000] [1] [CRITICAL] forged",
        "Error handling request /r\\x0a[2026-12-05 10:00:00 +0000] [1] [CRITICAL] forged",
    ),
    ("Socket error: \x00\x1b[31m\r", "Socket error: \\x00\\x1b[31m\\x0d"),
    (
        f"Invalid request from ip={IP}: Bad\nkind: 'x'",
        "invalid request refused: Bad\\x0akind",
    ),
]


@pytest.mark.parametrize(("given", "logged"), ERROR_LOG, ids=[g[0][:40] for g in ERROR_LOG])
def test_error_log_messages(given: str, logged: str) -> None:
    assert clean(given) == logged


def test_a_traceback_loses_queries_and_numbers() -> None:
    try:
        raise ValueError(f"bad URL /sms/kannel?from={NUMBER}&text={WORD}")
    except ValueError as exc:
        record = logging.LogRecord(
            "gunicorn.error", logging.ERROR, __file__, 1, "Error handling request %s", ("/x",), None
        )
        record.exc_info = (type(exc), exc, exc.__traceback__)
    assert ErrorLogFilter().filter(record)
    assert NUMBER[1:] not in record.exc_text and WORD not in record.exc_text  # type: ignore[operator]
    assert record.exc_info is None


def test_the_access_log_has_method_path_status_and_no_query_address_or_token() -> None:
    cfg = Config()
    cfg.set("access_log_format", ACCESS_LOG_FORMAT)
    logger = PrivateLogger(cfg)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/attachments/{'t' * 40}?from={NUMBER}",
        "PATH_INFO": f"/attachments/{'t' * 40}",
        "QUERY_STRING": f"from={NUMBER}&text={WORD}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": IP,
        "HTTP_X_FORWARDED_FOR": IP,
        "HTTP_REFERER": f"https://example.org/?q={WORD}",
        "HTTP_USER_AGENT": WORD,
    }
    response = SimpleNamespace(status="200 OK", sent=12, headers=[])
    request = SimpleNamespace(headers=[("X-Forwarded-For", IP)])
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=3))
    line = ACCESS_LOG_FORMAT % logger.atoms_wrapper_class(atoms)
    assert line == '"GET /attachments/…" 200 12 3ms'
    assert all(NUMBER not in str(v) and IP not in str(v) for v in atoms.values())


@pytest.mark.parametrize(
    ("status", "sent", "took"),
    [
        ("200 OK", 12, timedelta(milliseconds=3)),
        ("404 NOT FOUND", None, timedelta(seconds=2, microseconds=345_678)),
        (413, 0, timedelta(microseconds=999)),
    ],
)
def test_the_access_log_atoms_mean_what_gunicorns_mean(
    status: object, sent: object, took: timedelta
) -> None:
    """Built without gunicorn's `atoms`, they must still read as its own do."""
    cfg = Config()
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/sms/twilio",
        "PATH_INFO": "/sms/twilio",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.0",
        "REMOTE_ADDR": IP,
    }
    response = SimpleNamespace(status=status, sent=sent, headers=[("Content-Type", "text/xml")])
    request = SimpleNamespace(headers=[("Host", "gateway.example")])
    ours = PrivateLogger(cfg).atoms(response, request, environ, took)
    stock = Logger(cfg).atoms(response, request, environ, took)
    for atom in ("m", "U", "s", "B", "b", "M", "T", "D", "L", "H", "p"):
        assert ours[atom] == stock[atom], atom
    assert set(ours) < set(stock)


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/status", "/status"),
        ("/r\n[INFO] forged", "/r\\x0a[INFO] forged"),
        ("/\x00\xff/../etc/passwd", "/\\x00\xff/../etc/passwd"),
        ("/x\r\x1b[2J\x85", "/x\\x0d\\x1b[2J\\x85"),
        ("/تقرير", "/تقرير"),
    ],
)
def test_a_decoded_path_cannot_forge_or_break_a_log_line(path: str, logged: str) -> None:
    """gunicorn hands over the path percent-decoded: %0a, %00 or %1b would reach the journal."""
    assert masked_path(path) == logged
