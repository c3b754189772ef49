"""Re-encrypting stored data under the current key (`complaint-gateway keys rotate`).

Rotation: put a new key first in GATEWAY_DATA_KEY (`new,old`), restart, run
`keys rotate`, then remove the old key. Until the old key is removed both
decrypt, so the gateway keeps working throughout.
"""

from __future__ import annotations

from sqlalchemy import select

from gateway.core.accounts import User
from gateway.core.models import (
    Attachment,
    Case,
    CaseEvent,
    InboundEvent,
    MediaDownload,
    OutboundMessage,
    Report,
)
from gateway.core.runtime import Gateway

ENCRYPTED_COLUMNS: dict[type, tuple[str, ...]] = {
    InboundEvent: ("payload_enc",),
    Case: ("reply_address_enc",),
    Report: ("content_enc",),
    Attachment: ("data_enc",),
    MediaDownload: ("url_enc", "data_enc"),  # data_enc: an upload waiting to be cleaned
    CaseEvent: ("body_enc",),
    OutboundMessage: ("address_enc", "body_enc"),
    User: ("totp_secret_enc",),
}
BATCH = 200


def rotate_all(gw: Gateway) -> dict[str, int]:
    """Re-encrypt every encrypted column under the first key; rows per table."""
    counts: dict[str, int] = {}
    for model, columns in ENCRYPTED_COLUMNS.items():
        done, last_id = 0, 0
        while True:
            with gw.sessions() as session, session.begin():
                rows = session.scalars(
                    select(model).where(model.id > last_id).order_by(model.id).limit(BATCH)
                ).all()
                for row in rows:
                    for column in columns:
                        token = getattr(row, column)
                        if token is not None:
                            setattr(row, column, gw.cipher.rotate(token))
                if not rows:
                    break
                last_id, done = rows[-1].id, done + len(rows)
        counts[model.__tablename__] = done
    return counts
