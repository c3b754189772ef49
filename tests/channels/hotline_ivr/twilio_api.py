"""A local server playing Twilio's Recording and Call resources.

It checks the account's basic auth as Twilio does (401 otherwise), serves
each recording as WAV at `/2010-04-01/Accounts/<sid>/Recordings/<RE…>` (no
extension, as in the RecordingUrl Twilio gives), deletes recordings and
call records (`…/Calls/<CA…>.json`), answers 404 for a recording it does
not hold (or no longer holds), and records every request. A test can make
it refuse a call's deletion with error 20009, as Twilio does while it has
not finished with a call.
https://www.twilio.com/docs/voice/api/recording
https://www.twilio.com/docs/voice/api/call-resource
"""

from __future__ import annotations

import base64
import io
import threading
import uuid
import wave
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.channels.hotline_ivr.phone import ACCOUNT_SID, AUTH_TOKEN


def wav_bytes(seconds: float = 0.5, tone: int = 1000) -> bytes:
    """A short 8 kHz mono WAV, as Twilio serves recordings."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        frames = int(8000 * seconds)
        out.writeframes(
            b"".join(
                ((n * tone) % 20000 - 10000).to_bytes(2, "little", signed=True)
                for n in range(frames)
            )
        )
    return buffer.getvalue()


@dataclass
class Request:
    method: str
    path: str
    authorized: bool
    status: int


@dataclass
class TwilioRecordingsAPI:
    recordings: dict[str, bytes] = field(default_factory=dict)  # by RecordingSid
    requests: list[Request] = field(default_factory=list)
    fail_next_get: int = 0  # answer 404 this many times (a recording not ready yet)
    refuse_call_deletion: int = 0  # answer error 20009 this many times
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> TwilioRecordingsAPI:
        api = self
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        prefix = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/"
        calls = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/"

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                authorized = self.headers.get("Authorization") == expected
                sid = self.path[len(prefix) :] if self.path.startswith(prefix) else ""
                if self.command == "DELETE":
                    sid = sid.removesuffix(".json")
                body, status = b"", 404
                with api.lock:
                    if not authorized:
                        status = 401
                    elif self.command == "DELETE" and self.path.startswith(calls):
                        if api.refuse_call_deletion:
                            api.refuse_call_deletion -= 1
                            body, status = b'{"code": 20009, "status": 400}', 400
                        else:
                            status = 204
                    elif self.command == "GET" and api.fail_next_get:
                        api.fail_next_get -= 1
                    elif sid in api.recordings:
                        if self.command == "GET":
                            body, status = api.recordings[sid], 200
                        else:
                            del api.recordings[sid]
                            status = 204
                    api.requests.append(Request(self.command, self.path, authorized, status))
                self.send_response(status)
                audio = body and status == 200
                self.send_header("Content-Type", "audio/x-wav" if audio else "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_DELETE = _answer  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def new_recording(self, data: bytes | None = None) -> str:
        """Hold a recording; its RecordingUrl as Twilio would give it."""
        sid = "RE" + uuid.uuid4().hex
        self.recordings[sid] = data if data is not None else wav_bytes()
        return f"{self.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{sid}"

    def deleted(self, kind: str = "Recordings") -> list[str]:
        """Sids of the recordings (or "Calls") deleted, in order."""
        return [
            r.path.rsplit("/", 1)[1].removesuffix(".json")
            for r in self.requests
            if r.method == "DELETE" and r.status in (204, 404) and f"/{kind}/" in r.path
        ]
