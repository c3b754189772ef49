"""Hand-over of a case to investigators (a ZIP or a PDF), and the referrals CSV.

The case exports hold the report as given, the history (with internal
notes: the investigators are staff), links and forwarding, and never how to
reach the reporter. The referrals CSV (gateway/cases/referral_export.py,
docs/exports.md) holds nothing that identifies the reporter. Every export
is written to the audit trail.
"""

from __future__ import annotations

import io
import json
import mimetypes
import zipfile
from datetime import datetime
from typing import Any

from flask import Response, g, request

from gateway.cases import allegation, audit, referral_export
from gateway.cases.referrals import ReferralError, parse_date
from gateway.console import allegation_labels, security
from gateway.console.case import CaseView, case_view, load_case
from gateway.console.pages import (
    AFFECTED_LABELS,
    CATEGORY_LABELS,
    STATUS_LABELS,
    blueprint,
    label,
    render,
    t,
)
from gateway.console.security import STAFF, allow
from gateway.core.i18n import _
from gateway.core.models import Attachment

FORMAT = "complaint-gateway-case-export/1"
FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
)
PDF_IMAGE_TYPES = ("image/jpeg", "image/png")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _file_name(item: Attachment) -> str:
    extension = mimetypes.guess_extension(item.content_type) or ".bin"
    return f"attachments/{item.id}{extension}"


def bundle(view: CaseView, exported_by: str) -> dict[str, Any]:
    """The case as one JSON document, for the investigators' systems."""
    case = view.case
    return {
        "format": FORMAT,
        "exported_at": _iso(security.now()),
        "exported_by": exported_by,
        "case_number": view.number,
        "status": case.status,
        "channel": case.channel,
        "language": case.language,
        "category": case.category,
        "affected": case.affected,
        "urgency": {"danger_now": case.danger_now, "child_involved": case.child_involved},
        "allegation": allegation.of_case(case),  # codes, as in the forwarded JSON
        "follow_up_agreed": case.follow_up,
        "received_at": _iso(case.received_at),
        "closed_at": _iso(case.closed_at),
        "assignee": view.assignee,
        "report": {**view.report, **view.extra},
        "attachments": [
            {
                "file": _file_name(a),
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
            }
            for a in view.attachments
        ],
        "events": [
            {"at": _iso(e.at), "kind": e.kind, "actor": e.actor, "status": e.status, "text": e.text}
            for e in view.events
        ],
        "links": [{"case_number": link.number, "relation": link.relation} for link in view.links],
        "forwarding": [
            {
                "target": o.target,
                "kind": o.kind,
                "state": o.state,
                "attempts": o.attempts,
                "last_error": o.last_error,
                "delivered_at": _iso(o.delivered_at),
            }
            for o in view.outbox
        ],
    }


def _record(db: Any, view: CaseView, kind: str) -> None:
    audit.record(
        db,
        g.console_user.username,
        "case.export",
        view.case.case_number,
        {"format": kind, "attachments": len(view.attachments)},
    )


def _download(data: bytes, mimetype: str, name: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@blueprint.get("/cases/<number>/export.zip")
@allow(*STAFF)
def export_zip(number: str) -> Response:
    gw = security.gateway()
    buffer = io.BytesIO()
    with gw.sessions() as db, db.begin():
        view = case_view(db, load_case(db, number))
        document = bundle(view, g.console_user.username)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("case.json", json.dumps(document, indent=2, ensure_ascii=False))
            for item in view.attachments:
                archive.writestr(_file_name(item), gw.cipher.decrypt(item.data_enc))
        _record(db, view, "zip")
    return _download(buffer.getvalue(), "application/zip", f"case-{view.case.case_number}.zip")


def pdf_document(view: CaseView, exported_by: str, images: dict[int, bytes]) -> bytes:
    """The case as a PDF for people: report, attachments (images shown), history, forwarding."""
    # fpdf2 and fontTools (some 25 MiB) are loaded by the first PDF export, not by every process.
    from gateway.console.pdf_layout import CasePdf  # noqa: PLC0415 - heavy, used on demand only

    case = view.case
    pdf = CasePdf(FONT_PATHS)
    pdf.add_page()
    pdf.set_font(pdf.body_font, "B", 15)
    pdf.para(t(_("Case %(number)s"), number=view.number))
    pdf.set_font(pdf.body_font, "", 9)
    pdf.para(
        t(
            _("Exported %(time)s UTC by %(user)s. Confidential."),
            time=_iso(security.now()),
            user=exported_by,
        )
    )
    pdf.set_font(pdf.body_font, "", 10)
    pdf.heading(t(_("Case")))
    pdf.pair(t(_("Status")), label(STATUS_LABELS, case.status))
    pdf.pair(t(_("Received")), _iso(case.received_at))
    pdf.pair(t(_("Channel")), f"{case.channel}, {case.language}")
    pdf.pair(t(_("Danger now")), t(_("yes")) if case.danger_now else t(_("no")))
    pdf.pair(t(_("Child affected")), t(_("yes")) if case.child_involved else t(_("no")))
    pdf.pair(t(_("Assigned to")), view.assignee)
    pdf.heading(t(_("The report as given")))
    pdf.para(str(view.report.get("narrative") or "-"))
    pdf.ln(2)
    pdf.pair(t(_("What happened")), label(CATEGORY_LABELS, case.category))
    pdf.pair(t(_("Who was harmed")), label(AFFECTED_LABELS, case.affected))
    pdf.pair(t(_("Where")), view.report.get("location"))
    pdf.pair(t(_("When")), view.report.get("incident_time"))
    for key, value in view.extra.items():
        pdf.pair(key, value)
    pdf.heading(t(_("Allegation")))
    for field, value in allegation.of_case(case).items():
        pdf.pair(t(allegation_labels.FIELD_LABELS[field]), allegation_labels.shown(field, value, t))
    if view.attachments:
        pdf.heading(t(_("Attachments")))
        for index, item in enumerate(view.attachments, 1):
            pdf.para(f"{index}. {item.content_type}, {item.size} B, SHA-256 {item.sha256}")
            if item.id in images:
                try:
                    pdf.image(io.BytesIO(images[item.id]), w=100)
                except Exception:  # noqa: BLE001 - an unreadable image is listed, not shown
                    pdf.para(t(_("(the image could not be shown; it is in the ZIP export)")))
                pdf.ln(2)
    pdf.heading(t(_("History")))
    for event in view.events:
        head = f"{_iso(event.at)}  {event.actor}  {event.kind}"
        if event.status:
            head += f" -> {event.status}"
        pdf.set_font(pdf.body_font, "B", 9)
        pdf.para(head)
        pdf.set_font(pdf.body_font, "", 10)
        if event.changes:  # a triage: its lines, not its JSON
            pdf.para("\n".join(event.changes))
        elif event.text:
            pdf.para(event.text)
    if view.links:
        pdf.heading(t(_("Linked cases")))
        for link in view.links:
            pdf.para(f"{link.relation}: {link.number}")
    if view.outbox:
        pdf.heading(t(_("Forwarding")))
        for o in view.outbox:
            pdf.para(f"{o.target} ({o.kind}): {o.state}, {o.attempts} {t(_('attempts'))}")
    return bytes(pdf.output())


@blueprint.get("/cases/<number>/export.pdf")
@allow(*STAFF)
def export_pdf(number: str) -> Response:
    gw = security.gateway()
    with gw.sessions() as db, db.begin():
        view = case_view(db, load_case(db, number))
        images = {
            a.id: gw.cipher.decrypt(a.data_enc)
            for a in view.attachments
            if a.content_type in PDF_IMAGE_TYPES
        }
        data = pdf_document(view, g.console_user.username, images)
        _record(db, view, "pdf")
    return _download(data, "application/pdf", f"case-{view.case.case_number}.pdf")


@blueprint.get("/referrals.csv")
@allow(*STAFF)
def referrals_csv() -> Response:
    """Referrals changed from `since` to `until` (YYYY-MM-DD, both days included)."""
    gw = security.gateway()
    try:
        since = parse_date("since", request.args.get("since"), required=True)
        until = parse_date("until", request.args.get("until"), required=False)
    except ReferralError:
        since = until = None
    if since is None or (until is not None and until < since):
        message = t(_("Give the first day as YYYY-MM-DD, and a last day that is not before it."))
        return render("error.html", status=400, code=400, message=message)
    period = referral_export.Period(since, until)
    out = io.StringIO()
    with gw.sessions() as db, db.begin():
        referral_export.write(
            db,
            out,
            period,
            gw.settings.case_number_prefix,
            g.console_user.username,
            visible_to=g.console_user.id,  # not the referrals of a case restricted to others
        )
    name = f"referrals-{since.isoformat()}.csv"
    return _download(out.getvalue().encode("utf-8"), "text/csv", name)
