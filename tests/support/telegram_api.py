"""A local HTTP server that plays the Telegram Bot API in tests.

It answers at `http://127.0.0.1:<port>/bot<token>/<method>` and serves files
at `/file/bot<token>/<path>`, as https://core.telegram.org/bots/api
describes, for the methods the gateway uses: sendMessage,
answerCallbackQuery, editMessageReplyMarkup, deleteMessage(s), getFile,
getUpdates, setWebhook, deleteWebhook, getMe. It records every call, keeps
each chat's messages (the reporter's too, added by the test) so a test can
see what a chat still holds after a deletion, and refuses a wrong token.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

BOT_USER = {"id": 5550001, "is_bot": True, "first_name": "Complaints", "username": "cg_test_bot"}
TEXT_PARAMS = {"text", "callback_query_id", "url", "secret_token", "file_id"}
DOWNLOAD_LIMIT = 20 * 1024 * 1024


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class StoredFile:
    path: str
    data: bytes
    size: int | None = None  # what getFile says, when it is not len(data)


@dataclass
class TelegramAPI:
    token: str
    calls: list[Call] = field(default_factory=list)
    chats: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    files: dict[str, StoredFile] = field(default_factory=dict)
    pending_updates: list[dict[str, Any]] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._ids = itertools.count(100)

    # --- what a test arranges and reads -----------------------------------

    def add_user_message(self, chat_id: int, text: str | None = None) -> int:
        """A reporter's message as the chat holds it; its message id."""
        with self.lock:
            message_id = next(self._ids)
            self.chats.setdefault(chat_id, {})[message_id] = {"by": "user", "text": text}
        return message_id

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c.params for c in self.calls if c.method == method]

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Messages the bot sent (as sendMessage returned them), oldest first."""
        return [
            call["result"]
            for call in self.calls_to("sendMessage")
            if "result" in call and chat_id in (None, call["chat_id"])
        ]

    def chat(self, chat_id: int) -> dict[int, dict[str, Any]]:
        with self.lock:
            return dict(self.chats.get(chat_id, {}))

    # --- the Bot API ----------------------------------------------------------

    def _message(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any]:
        message_id = next(self._ids)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
            "text": params.get("text", ""),
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.chats.setdefault(chat_id, {})[message_id] = {"by": "bot", "message": dict(message)}
        params["result"] = message
        return message

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        """(HTTP status, result or error description) for one Bot API call."""
        chat_id = params.get("chat_id")
        if method == "getMe":
            return 200, BOT_USER
        if method == "sendMessage":
            if chat_id in self.blocked:
                return 403, "Forbidden: bot was blocked by the user"
            return 200, self._message(chat_id, params)
        if method in ("answerCallbackQuery", "setWebhook", "deleteWebhook"):
            return 200, True
        if method == "editMessageReplyMarkup":
            held = self.chats.get(chat_id, {}).get(params.get("message_id"))
            if held is None or held["by"] != "bot":
                return 400, "Bad Request: message to edit not found"
            held["message"].pop("reply_markup", None)
            return 200, held["message"]
        if method == "deleteMessages":
            for message_id in params.get("message_ids", []):
                self.chats.get(chat_id, {}).pop(message_id, None)
            return 200, True
        if method == "deleteMessage":
            if self.chats.get(chat_id, {}).pop(params.get("message_id"), None) is None:
                return 400, "Bad Request: message to delete not found"
            return 200, True
        if method == "getFile":
            stored = self.files.get(params.get("file_id", ""))
            if stored is None:
                return 400, "Bad Request: invalid file_id"
            size = stored.size if stored.size is not None else len(stored.data)
            if size > DOWNLOAD_LIMIT:
                return 400, "Bad Request: file is too big"
            return 200, {
                "file_id": params["file_id"],
                "file_unique_id": "u-" + params["file_id"][-8:],
                "file_size": size,
                "file_path": stored.path,
            }
        if method == "getUpdates":
            offset = params.get("offset")
            if offset is not None:  # confirms every update below the offset
                self.pending_updates = [u for u in self.pending_updates if u["update_id"] >= offset]
            return 200, list(self.pending_updates[: params.get("limit", 100)])
        return 404, "Not Found"

    def start(self) -> TelegramAPI:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                prefix = f"/bot{api.token}/"
                if not self.path.startswith(prefix):
                    error = {"ok": False, "error_code": 401, "description": "Unauthorized"}
                    self._reply(401, json.dumps(error).encode())
                    return
                method = self.path[len(prefix) :]
                params = _decode(raw, self.headers.get("Content-Type", ""))
                with api.lock:
                    api.calls.append(Call(method, params))
                    status, result = api.answer(method, params)
                if status == 200:
                    body = {"ok": True, "result": result}
                else:
                    body = {"ok": False, "error_code": status, "description": result}
                self._reply(status, json.dumps(body).encode())

            def do_GET(self) -> None:  # noqa: N802
                prefix = f"/file/bot{api.token}/"
                requested = unquote(self.path)
                path = requested[len(prefix) :] if requested.startswith(prefix) else None
                stored = next((f for f in api.files.values() if f.path == path), None)
                if stored is None:
                    self._reply(404, b"Not Found", "text/plain")
                    return
                self._reply(200, stored.data, "application/octet-stream")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _decode(raw: bytes, content_type: str) -> dict[str, Any]:
    """Bot API parameters, as form fields (python-telegram-bot's way) or JSON."""
    if content_type.startswith("application/json"):
        return json.loads(raw or b"{}")
    params: dict[str, Any] = {}
    for name, value in parse_qsl(raw.decode(), keep_blank_values=True):
        if name in TEXT_PARAMS:
            params[name] = value
            continue
        try:
            params[name] = json.loads(value)
        except ValueError:
            params[name] = value
    return params
