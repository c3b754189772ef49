"""`GET /attachments/<token>`: the signed, expiring link a case tracker follows."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app
from itsdangerous import BadSignature, SignatureExpired

from .forwarders.payload import ATTACHMENT_LINK_DAYS, attachment_signer
from .models import Attachment
from .runtime import Gateway

blueprint = Blueprint("attachments", __name__)


@blueprint.get("/attachments/<token>")
def download(token: str) -> Response:
    gw: Gateway = current_app.extensions["gateway"]
    try:
        attachment_id = attachment_signer(gw).loads(token, max_age=ATTACHMENT_LINK_DAYS * 86400)
    except SignatureExpired:
        abort(410)
    except BadSignature:
        abort(403)
    with gw.sessions() as session:
        item = session.get(Attachment, int(attachment_id))
        if item is None:
            abort(404)
        data = gw.cipher.decrypt(item.data_enc)
        content_type = item.content_type
    response = Response(data, mimetype=content_type)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = f'attachment; filename="attachment-{attachment_id}"'
    return response
