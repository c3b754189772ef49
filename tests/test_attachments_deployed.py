"""Attachments against the deployed gateway: `serve` (gunicorn) and `worker` on PostgreSQL.

Findings 2 and 10 of issue 16, checked from outside as the issue asks:

- decompression bombs (an 8000x8000 PNG of 7 KB, its RGBA twin, GIF, WebP
  and JPEG headers that claim more) posted to the web form, and one sent as
  a Telegram document that the worker fetches, are answered without a 5xx,
  and no gunicorn worker process and no gateway worker grows by 150 MB
  (its peak resident set size, VmHWM in /proc/<pid>/status, above its
  resident size before the bombs: a measurement of memory, not of time);
- a report filed with a PDF (Info Author/Creator, XMP, an embedded file, a
  photo with EXIF), an MP4 (`©xyz` under moov/udta and under a trak, Apple
  keys, a timed-metadata track), a JPEG with GPS and tagged MP3, Ogg and
  WAV files reaches the local case tracker, and what the tracker downloads
  through the signed links of the forwarded JSON holds none of it.

One deployment for the module: the processes start once (a few seconds).
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.channels.telegram.conftest import SECRET as TELEGRAM_SECRET
from tests.channels.telegram.conftest import TOKEN as TELEGRAM_TOKEN
from tests.channels.web_form.nojs import Browser, main_form
from tests.support import media_samples as samples
from tests.support.served import (
    HttpClient,
    Process,
    base_env,
    fresh_pg_schema,
    wait_healthy,
    wait_until,
)
from tests.support.telegram_api import StoredFile, TelegramAPI
from tests.support.tracker import TrackerServer

pytestmark = pytest.mark.slow

RSS_GROWTH_LIMIT = 150 * 1024 * 1024  # the check: no process grows by 150 MB
TRACKER_SECRET = "made-up-tracker-secret-attachments-5150"
BOMBS = {
    "png-1bit-8000x8000": samples.png_bomb(),
    "png-rgba-8000x8000": samples.png_bomb(8000, 8000, colour_type=6, depth=8),
    "gif-60000x60000": samples.gif_bomb(),
    "webp-16383x16383": samples.webp_bomb(),
    "jpeg-65000x65000": samples.jpeg_bomb(),
}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def memory(pid: int, field: str = "VmRSS") -> int:
    """A process's resident set size now (VmRSS) or at its peak (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (gunicorn's workers under its arbiter)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


@dataclass
class Deployed:
    base_url: str
    serve: Process
    worker: Process
    tracker: TrackerServer
    telegram: TelegramAPI

    def processes(self) -> dict[str, int]:
        """name -> pid of every process that handles a request or a job."""
        pids = {f"gunicorn worker {pid}": pid for pid in children(self.serve.popen.pid)}
        pids["worker"] = self.worker.popen.pid
        return pids

    def memory(self, field: str = "VmRSS") -> dict[str, int]:
        return {name: memory(pid, field) for name, pid in self.processes().items()}

    def case_with(self, narrative: str) -> dict:  # type: ignore[type-arg]
        """The forwarded JSON of the case whose narrative is `narrative`, once it arrived."""

        def arrived() -> dict | None:  # type: ignore[type-arg]
            found = [r.body for r in self.tracker.requests if r.body.get("narrative") == narrative]
            return found[0] if found else None

        return wait_until(f"case {narrative!r} at the tracker", arrived, [self.serve, self.worker])


@pytest.fixture(scope="module")
def deployed(real_redis_url: str) -> Iterator[Deployed]:
    tracker = TrackerServer(secret=TRACKER_SECRET).start()
    telegram = TelegramAPI(TELEGRAM_TOKEN).start()
    root = Path(tempfile.mkdtemp(prefix="cg-attachments-"))
    data_dir, logs = root / "var", root / "logs"
    logs.mkdir()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with fresh_pg_schema() as database_url:
        env = base_env(
            GATEWAY_SECRET_KEY="made-up-flask-secret-attachments-2231",
            GATEWAY_DATA_KEY=Fernet.generate_key().decode(),
            GATEWAY_PSEUDONYM_KEY="made-up-pseudonym-key-attachments-9981",
            DATABASE_URL=database_url,
            REDIS_URL=real_redis_url,
            CASE_TRACKER_URL=tracker.url,
            CASE_TRACKER_SECRET=TRACKER_SECRET,
            PUBLIC_BASE_URL=base_url,  # the signed links point at the served gateway
            TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
            TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
            TELEGRAM_API_BASE_URL=telegram.url,
            INTAKE_TIMEOUT_SECONDS="2",
            SWEEP_INTERVAL_SECONDS="1",
            FORWARD_RETRY_DELAYS="0,1,1",
            GATEWAY_WEB_REPORTS_PER_HOUR="1000",
        )
        common = ["--data-dir", str(data_dir)]
        serve = Process.start(
            "serve",
            ["serve", "--port", str(port), "--workers", "2", "--threads", "2", *common],
            env,
            logs,
            root,
        )
        worker = Process.start("worker", ["worker", *common], env, logs, root)
        run = Deployed(base_url, serve, worker, tracker, telegram)
        try:
            wait_healthy(base_url, [serve, worker])
            wait_until("two gunicorn workers", lambda: len(children(serve.popen.pid)) >= 2, [serve])
            yield run
        finally:
            serve.stop()
            worker.stop()
            tracker.stop()
            telegram.stop()


def post_report(run: Deployed, narrative: str, files: list[tuple[bytes, str]]) -> httpx.Response:
    """The web form, filled and sent over HTTP as a browser without JavaScript sends it."""
    browser = Browser(HttpClient(run.base_url))
    form = main_form(browser.get("/report").get_data(as_text=True))
    form.fill(narrative=narrative)
    for data, name in files:
        form.attach("files", data, name)
    return browser.submit(form).raw


def send_telegram_document(run: Deployed, data: bytes, caption: str) -> None:
    """A reporter's Telegram message with a document, delivered to the webhook."""
    file_id = "BQAC" + uuid.uuid4().hex
    run.telegram.files[file_id] = StoredFile(f"documents/{file_id}.png", data)
    chat_id = 700_000_000 + uuid.uuid4().int % 1_000_000
    user = {"id": chat_id, "is_bot": False, "first_name": "A"}
    update = {
        "update_id": uuid.uuid4().int % 2**31,
        "message": {
            "message_id": run.telegram.add_user_message(chat_id, caption),
            "from": user,
            "chat": {"id": chat_id, "type": "private", "first_name": "A"},
            "date": 1767225600,
            "caption": caption,
            "document": {
                "file_id": file_id,
                "file_unique_id": file_id[-8:],
                "mime_type": "image/png",
            },
        },
    }
    answer = httpx.post(
        f"{run.base_url}/telegram/webhook",
        content=json.dumps(update),
        headers={
            "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
            "Content-Type": "application/json",
        },
        trust_env=False,
    )
    assert answer.status_code == 200


def test_bombs_are_refused_without_a_5xx_and_no_process_grows_by_150_mb(deployed: Deployed) -> None:
    # Warm up: one real photo through the whole path, so the baseline has every module loaded.
    warm = f"warm-up {uuid.uuid4().hex[:8]}"
    assert (
        post_report(deployed, warm, [(samples.image("PNG", (640, 480)), "a.png")]).status_code
        == 200
    )
    deployed.case_with(warm)
    before = deployed.memory()
    answers: dict[str, httpx.Response] = {}
    for name, bomb in BOMBS.items():
        for attempt in range(3):  # enough posts for both gunicorn workers to meet each bomb
            narrative = f"bomb {name} {attempt}"
            answers[narrative] = post_report(deployed, narrative, [(bomb, f"{name}.png")])
    caption = f"telegram bomb {uuid.uuid4().hex[:8]}"
    send_telegram_document(deployed, samples.png_bomb(), caption)
    case = deployed.case_with(caption)  # filed without the file: never a lost report
    # The peak (VmHWM) since the process started, above its size before the bombs.
    peak = deployed.memory("VmHWM")
    growth = {name: peak[name] - before[name] for name in before if name in peak}
    print("RSS before (MB):", {k: round(v / 2**20, 1) for k, v in before.items()})
    print("peak growth (MB):", {k: round(v / 2**20, 1) for k, v in growth.items()})
    assert len(growth) == 3 and all(g < RSS_GROWTH_LIMIT for g in growth.values()), growth
    assert all(a.status_code < 500 for a in answers.values())
    for narrative, answer in answers.items():
        assert answer.status_code == 413, (narrative, answer.status_code)
        assert "too large" in answer.text and narrative in answer.text  # the text is kept
    assert not any(
        r.body.get("narrative", "").startswith("bomb ") for r in deployed.tracker.requests
    )
    assert case["attachments"] == []


def test_the_tracker_downloads_no_pdf_author_no_mp4_position_and_no_tags(
    deployed: Deployed,
) -> None:
    files = [
        (samples.pdf_with_metadata(), "statement.pdf"),
        (samples.mp4_with_gps(), "clip.mp4"),
        (samples.image("JPEG"), "IMG_0001.jpg"),
        (samples.mp3_with_id3(), "voice.mp3"),
        (samples.ogg_opus_with_comments(), "voice.ogg"),
        (samples.wav_with_info(), "voice.wav"),
    ]
    for data, name in files:
        assert samples.secrets_in(data), name  # the samples do carry what must go
    narrative = f"files {uuid.uuid4().hex[:8]}"
    assert post_report(deployed, narrative, files[:5]).status_code == 200
    case = deployed.case_with(narrative)
    kinds = sorted(a["content_type"] for a in case["attachments"])
    assert kinds == sorted(
        ["application/pdf", "video/mp4", "image/jpeg", "audio/mpeg", "audio/ogg"]
    )
    narrative_wav = f"wav {uuid.uuid4().hex[:8]}"
    assert post_report(deployed, narrative_wav, files[5:]).status_code == 200
    attachments = case["attachments"] + deployed.case_with(narrative_wav)["attachments"]
    client = HttpClient(deployed.base_url, source="127.0.0.1")
    for attachment in attachments:
        url = urlsplit(attachment["url"])
        assert f"{url.scheme}://{url.netloc}" == deployed.base_url
        downloaded = client.get(url.path)
        assert downloaded.status_code == 200, attachment["content_type"]
        data = downloaded.get_data()
        assert len(data) == attachment["size"]
        assert samples.secrets_in(data) == [], attachment["content_type"]
