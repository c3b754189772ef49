"""A real Kannel for tests: bearerbox with its fake SMSC, smsbox, and fakesmsc as the phone.

Debian's `kannel` package brings bearerbox and smsbox, `kannel-extras`
brings fakesmsc (a client of the fake SMSC that injects mobile-originated
messages and prints the ones Kannel sends). The configuration is the one
docs/providers/kannel.md documents, with the fake SMSC and free local
ports; smsbox's get-url (or post-url) and the dlr-url point at the gateway
served by werkzeug in a thread, or at a gateway the test runs itself
(`gateway_url`: `complaint-gateway serve`, gunicorn).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes, unquote_to_bytes

from werkzeug.serving import make_server

BEARERBOX = shutil.which("bearerbox") or "/usr/sbin/bearerbox"
SMSBOX = shutil.which("smsbox") or "/usr/sbin/smsbox"
FAKESMSC = shutil.which("fakesmsc") or "/usr/lib/kannel/test/fakesmsc"
SHORT_CODE = "1234"
WAIT_SECONDS = 30.0  # the longest any step may take before the test fails


def missing_binaries() -> list[str]:
    return [path for path in (BEARERBOX, SMSBOX, FAKESMSC) if not os.access(path, os.X_OK)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], seconds: float = WAIT_SECONDS) -> Any:
    """Poll `check` until it returns something true; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds:.0f} s")
        time.sleep(0.1)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class AppSlot:
    """The WSGI app the server hands requests to: the current test's gateway app."""

    def __init__(self) -> None:
        self.app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return [b""]
        return self.app(environ, start_response)


CONFIG = """\
group = core
admin-port = {admin_port}
admin-password = {admin_password}
admin-interface = 127.0.0.1
smsbox-port = {smsbox_port}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "{dir}/bearerbox.log"
log-level = 1
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = FAKE
port = {fake_port}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox_port}
sendsms-port = {sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{dir}/smsbox.log"
log-level = 1
mo-recode = true
http-request-retry = 3
http-queue-delay = 1

group = sendsms-user
username = {username}
password = {password}
max-messages = 3
concatenation = true

group = sms-service
keyword = default
catch-all = true
max-messages = 0
omit-empty = true
{service}
"""
GET_URL_QUERY = "from=%p&to=%P&text=%a&ts=%t&smsc=%i&id=%I&coding=%c&charset=%C"
# The two ways smsbox hands a message to the gateway (docs/providers/kannel.md).
SERVICES = {
    "get-url": 'get-url = "{gateway}/sms/kannel?' + GET_URL_QUERY + '&key={key}"',
    "post-url": 'send-sender = true\npost-url = "{gateway}/sms/kannel?key={key}&id=%I"',
}


@dataclass
class KannelStack:
    directory: Path
    key: str = "made-up-kannel-callback-key-real"
    username: str = "gateway"
    password: str = "made-up-kannel-sendsms-password"
    slot: AppSlot = field(default_factory=AppSlot)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    gateway_url: str = ""  # a gateway the test serves itself; else werkzeug serves `slot`
    service: str = "get-url"  # or "post-url"
    server: Any = None

    def start(self) -> KannelStack:
        if not self.gateway_url:
            self.server = make_server("127.0.0.1", 0, self.slot, threaded=True)
            threading.Thread(target=self.server.serve_forever, daemon=True).start()
            self.gateway_url = f"http://127.0.0.1:{self.server.server_port}"
        self.fake_port, self.sendsms_port = free_port(), free_port()
        smsbox_port, admin_port = free_port(), free_port()
        config = self.directory / "kannel.conf"
        config.write_text(
            CONFIG.format(
                admin_port=admin_port,
                admin_password="made-up-admin-password",
                smsbox_port=smsbox_port,
                fake_port=self.fake_port,
                sendsms_port=self.sendsms_port,
                dir=self.directory,
                username=self.username,
                password=self.password,
                service=SERVICES[self.service].format(gateway=self.gateway_url, key=self.key),
            )
        )
        self._spawn([BEARERBOX, str(config)], "bearerbox.out")
        wait_for("bearerbox listening", lambda: _listening(smsbox_port))
        self._spawn([SMSBOX, str(config)], "smsbox.out")
        wait_for("smsbox's sendsms listening", lambda: _listening(self.sendsms_port))
        return self

    def _spawn(self, command: list[str], output: str) -> None:
        with (self.directory / output).open("wb") as out:
            self.processes.append(
                subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=self.directory)
            )

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"

    def settings(self) -> dict[str, str]:
        return {
            "PUBLIC_BASE_URL": self.gateway_url,
            "KANNEL_SENDSMS_URL": self.sendsms_url,
            "KANNEL_USERNAME": self.username,
            "KANNEL_PASSWORD": self.password,
            "KANNEL_CALLBACK_KEY": self.key,
        }

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop_process(process)
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Received:
    sender: str
    receiver: str
    text: str


class FakePhone:
    """A phone on Kannel's fake SMSC: each `send` runs one fakesmsc that sends and listens."""

    def __init__(self, stack: KannelStack, number: str) -> None:
        self.stack, self.number = stack, number
        self.process: subprocess.Popen[bytes] | None = None
        self.log: Path | None = None
        self.runs = 0

    def send(self, text: str = "", *, udh_parts: tuple[str, ...] = (), ucs2: bool = False) -> None:
        """Inject one SMS (or the parts of one concatenated SMS) into Kannel."""
        self.hang_up()
        if udh_parts:
            total, messages = len(udh_parts), []
            for index, part in enumerate(udh_parts, start=1):
                udh = bytes([5, 0, 3, 0x2A, total, index])
                messages.append(
                    f"{self.number} {SHORT_CODE} udh-data {quote_from_bytes(udh)} "
                    + quote_from_bytes(part.encode())
                )
        elif ucs2:
            messages = [
                f"{self.number} {SHORT_CODE} ucs2 {quote_from_bytes(text.encode('utf-16-be'))}"
            ]
        else:
            messages = [f"{self.number} {SHORT_CODE} data {quote_from_bytes(text.encode())}"]
        for index, message in enumerate(messages):
            self.runs += 1
            self.log = self.stack.directory / f"fakesmsc-{self.number[-4:]}-{self.runs}.log"
            with self.log.open("wb") as out:
                # fakesmsc sends -m messages, then keeps listening for what Kannel sends.
                self.process = subprocess.Popen(
                    [
                        FAKESMSC,
                        "-H",
                        "127.0.0.1",
                        "-r",
                        str(self.stack.fake_port),
                        "-m",
                        "1",
                        message,
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            if index < len(messages) - 1:  # an earlier part: let it go out, then the next
                log = self.log
                wait_for(
                    "fakesmsc sending a part", lambda log=log: b"sent message" in log.read_bytes()
                )
                self.hang_up()

    def received(self) -> list[Received]:
        """What Kannel delivered to this phone during the current run."""
        if self.log is None or not self.log.exists():
            return []
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if "Got message" not in line or "<" not in line:
                continue
            body = line[line.index("<") + 1 : line.rindex(">")]
            sender, receiver, kind, data = (body.split(" ", 3) + ["", "", "", ""])[:4]
            if kind == "ucs-2":
                data = unquote_to_bytes(data).decode("utf-16-be", errors="replace")
            elif kind == "data":
                data = unquote_to_bytes(data).decode("utf-8", errors="replace")
            out.append(Received(sender, receiver, data))
        return [r for r in out if r.receiver == self.number]

    def hang_up(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
