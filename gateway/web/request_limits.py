"""How long a request line may be: long enough for Kannel's longest SMS, and no longer.

Kannel's get-url is a GET: the whole SMS is in the query string. A report
refused there with 414 is lost, because Kannel does not retry a 4xx. The
longest message Kannel hands over is a concatenated SMS of 255 parts (the
part count is one octet of the UDH; bearerbox joins the parts before
smsbox calls the gateway). Each part carries 140 octets, 6 of them the
concatenation header, so 134 octets of text:

- GSM 7-bit: 153 characters a part, 39,015 in all; in `%a` up to 6 bytes
  each (é, Δ, Ø are 2 bytes of UTF-8, each written `%XX`): 234,090 bytes.
- UCS-2: 67 UTF-16 units a part, 17,085 in all; up to 9 bytes each
  (Amharic, Devanagari: 3 bytes of UTF-8): 153,765 bytes; Arabic (2
  bytes of UTF-8, 6 in `%a`): 102,510 bytes.
- UCS-2 with smsbox's mo-recode off, and 8-bit data: 134 bytes a part,
  34,170 in all, 3 each: 102,510 bytes.

The other parameters (`from`, `to`, `ts`, `smsc`, `id`, `coding`,
`charset`, `key`, their names) take under 400 bytes and `GET
/sms/kannel?… HTTP/1.1` 25: the longest request line Kannel can send is
about 234,500 bytes. `MAX_REQUEST_LINE` is 256 KiB (262,144), with 27 KB
to spare. gunicorn's own limit is raised to it (`gateway.processes`), and
`RequestLineLimit` answers 414 to anything longer under any server, before
the application reads it. Kannel's `post-url` (the text in the body) has
no such limit and is what docs/providers/kannel.md recommends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

MAX_REQUEST_LINE = 256 * 1024  # bytes; the arithmetic is above

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def request_target_length(environ: dict[str, Any]) -> int:
    """The length of the request target as the client sent it (path and query)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return len(raw)
    query = environ.get("QUERY_STRING", "")
    return len(environ.get("PATH_INFO", "")) + (len(query) + 1 if query else 0)


class RequestLineLimit:
    """WSGI middleware: 414 for a request target longer than `limit`, nothing else read."""

    def __init__(self, app: WSGIApp, limit: int = MAX_REQUEST_LINE) -> None:
        self.app, self.limit = app, limit

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if request_target_length(environ) > self.limit:
            body = b"request target too long\n"
            start_response(
                "414 URI Too Long",
                [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return self.app(environ, start_response)
