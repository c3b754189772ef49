"""What gunicorn writes about requests: the method, the path, the status; nothing of the reporter.

gunicorn's own logs would expose reporters in three places:

- the access log's `%(r)s` is the whole request line: Kannel's get-url
  carries the sender's number and the text, a status check by SMS the case
  number and PIN, and `?key=` the callback secrets;
- the error log's "Invalid request from ip=…" names the client's address
  and quotes the refused request line or header (with its query string);
- "Error handling request GET /…?…" quotes the request target.

`PrivateLogger` (gunicorn's `logger_class`) writes the access log from the
method, the path with long segments masked (signed attachment links carry
their token in the path), the status, the size and the time, and never the
query string, the client address, the referrer or the user agent; and it
cleans every error-log record: a refused request is logged by the kind of
error alone, request targets lose their query, and what is left passes the
gateway's redaction of addresses and numbers.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from gunicorn.glogging import Logger

from gateway.core.privacy import redact

# Apache-style, without %(h)s (client address), %(r)s/%(q)s (query), %(f)s, %(a)s.
ACCESS_LOG_FORMAT = '"%(m)s %(U)s" %(s)s %(B)s %(M)sms'
# A path segment this long is a token (a signed attachment link), not a name.
TOKEN_SEGMENT = re.compile(r"[^/]{24,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_QUERY = re.compile(r"\?[^\s'\"]*")
_INVALID_REQUEST = "Invalid request from ip="
# gunicorn's own start and stop lines: its address and pids, never a reporter's.
_KEPT_AS_IS = (
    "Listening at: ",
    "Starting gunicorn ",
    "Using worker: ",
    "Booting worker with pid: ",
    "Worker exiting (pid: ",
)


def _escaped(text: str) -> str:
    """Control characters as `\\xNN`: no forged line after a `\\n`, no NUL in the journal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def masked_path(path: str) -> str:
    """The request path for the access log: long (token) segments masked.

    The path arrives percent-decoded, so `%0a` would start a forged log line
    and `%00` write a NUL into the journal: control characters are escaped.
    """
    return _escaped(TOKEN_SEGMENT.sub("…", path or "/"))


def refused_kind(error: str) -> str:
    """The kind of a refused request without what the client sent ("Invalid HTTP Header")."""
    kind = re.split(r"['\"]", error, maxsplit=1)[0]
    return kind.rstrip(" :") or "malformed request"


def clean(message: str) -> str:
    """An error-log message without client address, request contents or query strings.

    One record is one line: control characters in it are escaped.
    """
    if message.startswith(_INVALID_REQUEST):
        _, _, error = message.partition(": ")
        cleaned = f"invalid request refused: {refused_kind(error)}"
    elif message.startswith(_KEPT_AS_IS):
        cleaned = message
    else:
        cleaned = redact(_QUERY.sub("?…", message))
    return _escaped(cleaned)


class ErrorLogFilter(logging.Filter):
    """Applies `clean` to every gunicorn error-log record, tracebacks included."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = clean(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(_QUERY.sub("?…", text))
            record.exc_info = None
        return True


class PrivateLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger with the access log and error log kept free of reporters' data."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if not any(isinstance(f, ErrorLogFilter) for f in self.error_log.filters):
            self.error_log.addFilter(ErrorLogFilter())

    def atoms(
        self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any
    ) -> dict[str, Any]:
        """The atoms of the request line and the answer; none with the query, address or headers.

        ACCESS_LOG_FORMAT uses five of them; gunicorn's own
        `atoms` copies every request header, response header and environ
        entry (the client's address and user agent among them) into a dict
        for every request, only for these few to be picked out of it.
        """
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        seconds, micros = request_time.seconds, request_time.microseconds
        return {
            "m": environ.get("REQUEST_METHOD") or "-",
            "U": masked_path(str(environ.get("PATH_INFO") or "/")),
            "s": status,
            "B": sent,
            "b": "-" if sent is None else str(sent),
            "M": seconds * 1000 + micros // 1000,
            "T": seconds,
            "D": seconds * 1_000_000 + micros,
            "L": f"{seconds}.{micros:06d}",
            "H": environ.get("SERVER_PROTOCOL"),
            "t": self.now(),
            "p": f"<{os.getpid()}>",
        }
