"""A local HTTP server that plays the SMS providers' APIs in tests.

One server answers as Twilio's REST API (send, delete, redact, media with
its redirect to a pre-signed URL), Africa's Talking's messaging API and
Kannel's smsbox sendsms, checking each one's
credentials the way the provider would, recording every request, and
answering from a script of (status, body) pairs when a test injects one.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from urllib.parse import parse_qs, urlsplit

TWILIO_SID = "AC" + "0" * 30 + "42"
TWILIO_TOKEN = "made-up-twilio-auth-token"
AT_USERNAME = "sandbox"
AT_API_KEY = "made-up-africastalking-api-key"
KANNEL_USERNAME = "gateway"
KANNEL_PASSWORD = "made-up-kannel-password"


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]
    status: int


@dataclass
class ProviderAPI:
    calls: list[Call] = field(default_factory=list)
    script: list[tuple[int, str]] = field(default_factory=list)  # answers to give first
    media: dict[str, bytes] = field(default_factory=dict)  # Twilio media files by path
    # Twilio media paths answered (to the account's credentials) with a redirect to a URL
    redirects: dict[str, str] = field(default_factory=dict)
    # files served to anyone, as a pre-signed storage URL serves them (by path)
    public_media: dict[str, bytes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: count = field(default_factory=lambda: count(1))  # type: ignore[type-arg]

    def start(self) -> ProviderAPI:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                parts = urlsplit(self.path)
                call = Call(
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                    form={k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    status=0,
                )
                with api.lock:
                    status, body, ctype = api._answer(call)
                    call.status = status
                    api.calls.append(call)
                payload = body if isinstance(body, bytes) else body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if status == 307 and call.path in api.redirects:
                    self.send_header("Location", api.redirects[call.path])
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = _serve  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def settings(self) -> dict[str, str]:
        """The gateway settings that point every provider at this server."""
        return {
            "TWILIO_ACCOUNT_SID": TWILIO_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "TWILIO_API_BASE_URL": self.url,
            "AFRICASTALKING_USERNAME": AT_USERNAME,
            "AFRICASTALKING_API_KEY": AT_API_KEY,
            "AFRICASTALKING_API_BASE_URL": self.url,
            "KANNEL_SENDSMS_URL": f"{self.url}/cgi-bin/sendsms",
            "KANNEL_USERNAME": KANNEL_USERNAME,
            "KANNEL_PASSWORD": KANNEL_PASSWORD,
        }

    # --- answers -----------------------------------------------------------

    def _answer(self, call: Call) -> tuple[int, str | bytes, str]:
        if self.script:
            status, body = self.script.pop(0)
            return status, body, "application/json"
        if call.path in self.public_media:
            return 200, self.public_media[call.path], "application/octet-stream"
        if call.path.startswith("/media/"):
            return self._media(call)
        if call.path.startswith("/2010-04-01/"):
            return self._twilio(call)
        if call.path == "/version1/messaging":
            return self._africastalking(call)
        if call.path == "/cgi-bin/sendsms":
            return self._kannel(call)
        return 404, "not found", "text/plain"

    def _twilio(self, call: Call) -> tuple[int, str, str]:
        expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if call.headers.get("authorization") != expected:
            return 401, json.dumps({"code": 20003, "status": 401}), "application/json"
        messages = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages"
        if call.method == "POST" and call.path == messages + ".json":
            if not call.form.get("To") or not call.form.get("From"):
                return 400, json.dumps({"code": 21604, "status": 400}), "application/json"
            sid = f"SM{next(self._ids):032x}"
            return 201, json.dumps({"sid": sid, "status": "queued"}), "application/json"
        if call.path.startswith(messages + "/") and call.path.endswith(".json"):
            if call.method == "DELETE":
                return 204, "", "application/json"
            if call.method == "POST" and call.form.get("Body") == "":
                return 200, json.dumps({"body": "", "status": "delivered"}), "application/json"
        return 404, json.dumps({"code": 20404, "status": 404}), "application/json"

    def _media(self, call: Call) -> tuple[int, str | bytes, str]:
        expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if call.headers.get("authorization") != expected:
            return 401, "", "text/plain"
        if call.path in self.redirects:
            return 307, "", "text/plain"
        data = self.media.get(call.path)
        return (200, data, "application/octet-stream") if data else (404, "", "text/plain")

    def _africastalking(self, call: Call) -> tuple[int, str, str]:
        if call.headers.get("apikey") != AT_API_KEY or call.form.get("username") != AT_USERNAME:
            return 401, "The supplied authentication is invalid", "text/plain"
        message_id = f"ATXid_{next(self._ids):032x}"
        body = {
            "SMSMessageData": {
                "Message": "Sent to 1/1 Total Cost: KES 0.8000",
                "Recipients": [
                    {
                        "statusCode": 101,
                        "number": call.form.get("to", ""),
                        "status": "Success",
                        "cost": "KES 0.8000",
                        "messageId": message_id,
                    }
                ],
            }
        }
        return 201, json.dumps(body), "application/json"

    def _kannel(self, call: Call) -> tuple[int, str, str]:
        if (call.query.get("username"), call.query.get("password")) != (
            KANNEL_USERNAME,
            KANNEL_PASSWORD,
        ):
            return 403, "Authorization failed for sendsms", "text/plain"
        if not call.query.get("to"):
            return 400, "Missing receiver number", "text/plain"
        return 202, "0: Accepted for delivery", "text/plain"

    # --- what tests read -----------------------------------------------------

    def sent(self, to: str | None = None) -> list[Call]:
        """Messages sent (accepted), in order, optionally to one address."""
        with self.lock:
            calls = list(self.calls)
        out = []
        for call in calls:
            if call.status not in (200, 201, 202):
                continue
            if call.path.endswith("/Messages.json") and call.method == "POST":
                address = call.form.get("To")
            elif call.path in ("/version1/messaging",):
                address = call.form.get("to")
            elif call.path == "/cgi-bin/sendsms":
                address = call.query.get("to")
            else:
                continue
            if to is None or address == to:
                out.append(call)
        return out

    @staticmethod
    def text_of(call: Call) -> str:
        return call.form.get("Body") or call.form.get("message") or call.query.get("text") or ""
