"""A stand-in case-tracking system for `complaint-gateway demo` only.

When the demo runs without CASE_TRACKER_URL it points the webhook forwarder
here, so forwarding (signature, retries, states) works end to end on one
machine. It verifies the signature and notes what arrived: the case number,
when it was received and its channel, and each status change, never what the
report says. `GET /_demo/tracker` lists them, so the banner's "Case tracker"
link shows what the stand-in got. The notes live in Redis for a day, the
newest RECENT_LIMIT of them.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Blueprint, Response, current_app, request
from markupsafe import escape

from gateway.forwarders.webhook import verify

blueprint = Blueprint("demo_tracker", __name__)

RECEIVED_KEY = "complaint-gateway:demo-tracker:received"
RECENT_LIMIT = 200
KEEP_SECONDS = 86400


def _note(payload: Any) -> dict[str, str] | None:
    """What the page shows of one delivery: numbers, times, channel, status; no report text."""
    if not isinstance(payload, dict) or not isinstance(payload.get("case_number"), str):
        return None
    note = {
        "case_number": payload["case_number"],
        "arrived_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if payload.get("event") == "status_changed":
        note["status"] = str(payload.get("status") or "")
        note["at"] = str(payload.get("changed_at") or "")
    else:
        note["received_at"] = str(payload.get("received_at") or "")
        note["channel"] = str(payload.get("channel") or "")
    return note


@blueprint.post("/_demo/tracker")
def receive() -> tuple[Response | str, int]:
    gateway = current_app.extensions["gateway"]
    body = request.get_data()
    ok = verify(
        gateway.settings.case_tracker_secret or "",
        request.headers.get("X-Gateway-Timestamp", ""),
        body,
        request.headers.get("X-Gateway-Signature", ""),
    )
    if not ok:
        return "bad signature", 403
    try:
        note = _note(json.loads(body))
    except ValueError:
        note = None
    if note is not None:
        with gateway.redis.pipeline() as pipe:
            pipe.lpush(RECEIVED_KEY, json.dumps(note))
            pipe.ltrim(RECEIVED_KEY, 0, RECENT_LIMIT - 1)
            pipe.expire(RECEIVED_KEY, KEEP_SECONDS)
            pipe.execute()
    return "", 204


def _cases(notes: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Notes (newest first) grouped by case number, newest case first, events oldest first."""
    cases: dict[str, dict[str, Any]] = {}
    for note in notes:
        case = cases.setdefault(
            note["case_number"], {"number": note["case_number"], "received": "", "events": []}
        )
        if "status" in note:
            case["events"].insert(0, f"{note['status']} ({note['at']})")
        elif not case["received"]:
            case["received"] = f"{note['received_at']} ({note['channel']})"
    return list(cases.values())


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo case tracker</title>
<style>body{{font-family:sans-serif;margin:1rem}}td,th{{padding:.25rem .5rem;text-align:left;
vertical-align:top;border-bottom:1px solid #ccc}}</style></head>
<body><main><h1>Demo case tracker</h1>
<p>The stand-in case-tracking system of <code>complaint-gateway demo</code>: the cases the
gateway forwarded to it (signature checked) and their status changes, newest first.
It keeps no report text.</p>
{content}
</main></body></html>
"""


@blueprint.get("/_demo/tracker")
def received() -> Response:
    gateway = current_app.extensions["gateway"]
    raw = gateway.redis.lrange(RECEIVED_KEY, 0, RECENT_LIMIT - 1)
    notes = [json.loads(item) for item in raw]
    rows = [
        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            escape(case["number"]),
            escape(case["received"] or "-"),
            escape("; ".join(case["events"]) or "-"),
        )
        for case in _cases(notes)
    ]
    if rows:
        content = (
            "<table><thead><tr><th>Case number</th><th>Received (channel)</th>"
            "<th>Status changes</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        )
    else:
        content = "<p>Nothing received yet.</p>"
    return Response(PAGE.format(content=content), mimetype="text/html")
