"""`GET /attachments/<token>`: the signed, expiring link a case tracker follows.

The token is checked before anything is looked up: a forged token gets 403
and the database is never asked, so a link nobody signed cannot tell
whether a case or a file exists. A link the gateway signed that is past its
seven days, or whose case is closed or purged, or whose file is gone, gets
410: the same answer for each, so a holder of an old link learns nothing
more than that it no longer works. Each download is written to the audit
trail (the case, the attachment id, and that a signed link was used; never
the requester's address) in the same transaction that reads the file, so
no file leaves without its entry.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app
from itsdangerous import BadSignature, SignatureExpired

from gateway.cases import audit
from gateway.core.models import Attachment
from gateway.core.runtime import Gateway
from gateway.core.states import CaseStatus
from gateway.forwarders.payload import ATTACHMENT_LINK_DAYS, attachment_signer

blueprint = Blueprint("attachments", __name__)
ACTOR = "case-tracker"  # whoever holds a link the gateway signed for the case tracker
REQUESTER = "signed-link"


@blueprint.get("/attachments/<token>")
def download(token: str) -> Response:
    gw: Gateway = current_app.extensions["gateway"]
    try:
        attachment_id = attachment_signer(gw).loads(token, max_age=ATTACHMENT_LINK_DAYS * 86400)
    except SignatureExpired:
        abort(410)  # signed by the gateway, but too old: no look-up either
    except BadSignature:
        abort(403)
    if not isinstance(attachment_id, int) or isinstance(attachment_id, bool):
        abort(403)  # never signed as such by this gateway
    with gw.sessions() as session, session.begin():
        item = session.get(Attachment, attachment_id)
        case = item.report.case if item is not None else None
        if (
            item is None
            or case is None
            or case.status == CaseStatus.CLOSED.value
            or case.closed_at is not None
            or case.purged_at is not None
            or not item.data_enc
        ):
            abort(410)
        data = gw.cipher.decrypt(item.data_enc)
        content_type = item.content_type
        detail = {"attachment": attachment_id, "requester": REQUESTER}
        audit.record(session, ACTOR, "attachment.download", case.case_number, detail)
    response = Response(data, mimetype=content_type)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = f'attachment; filename="attachment-{attachment_id}"'
    return response
