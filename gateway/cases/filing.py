"""Filing a report as a case, and what happens to a case afterwards.

`file_report` writes the case, its encrypted report, its attachments as
they came (encrypted, for the worker to clean before anyone sees them), the
"filed" event and one outbox row per forwarding target in the caller's
transaction: either all of it exists or none of it does. Filing never
enqueues: the work layer starts forwarding after the commit
(`gateway.work.effects.enqueue_forwarding`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.cases import allegation, daily_counts, numbering, waiting
from gateway.cases.allegation import AllegationError
from gateway.cases.media import UPLOADED, type_hint
from gateway.cases.reports import NewReport
from gateway.core.models import Case, CaseEvent, MediaDownload, OutboxEntry, Report
from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow
from gateway.core.states import CaseEventKind, CaseStatus, WorkState


@dataclass(frozen=True)
class Receipt:
    """What the reporter is told once: the case number and the PIN."""

    case_id: int
    case_number: str
    pin: str


def file_report(
    session: Session,
    gw: Gateway,
    report: NewReport,
    *,
    channel: str,
    provider: str | None = None,
    received_at: datetime | None = None,
    sender_pseudonym: str | None = None,
    reply_address: str | None = None,
    media: list[tuple[str, str, str | None]] | None = None,
    received_via: str | None = None,
    actor: str = "reporter",
) -> Receipt:
    """Create the case for `report` inside the caller's transaction.

    `received_via` says how a report a person took reached them (channel
    `in_person`); `actor` is who filed it, on the "filed" event (the console
    user for such a report; never forwarded).

    `media` lists (provider, url, content type hint) of files still at the
    provider: each becomes a download, and forwarding waits for them. The
    report's own attachments (checked by `gateway.cases.media.check_upload`, not
    decoded) wait the same way, encrypted, for the worker to clean them.
    """
    received = received_at or utcnow()
    # The PIN's slow hash comes first: allocating the number locks the year's
    # counter row until the commit, and every filing in every worker waits on it.
    pin = numbering.new_pin()
    pin_hash = numbering.hash_pin(pin)
    number = numbering.allocate_case_number(session, received.year)
    keep_address = report.follow_up and reply_address is not None
    case = Case(
        case_number=number.digits,
        year=number.year,
        sequence=number.sequence,
        pin_hash=pin_hash,
        status=CaseStatus.RECEIVED.value,
        channel=channel,
        provider=provider,
        received_via=received_via,
        language=report.language,
        category=report.category.value if report.category else None,
        danger_now=bool(report.danger_now),
        child_involved=report.child_involved,
        affected=report.affected.value if report.affected else None,
        follow_up=report.follow_up,
        received_at=received,
        sender_pseudonym=sender_pseudonym,
        reply_address_enc=gw.cipher.encrypt(reply_address.encode()) if keep_address else None,
    )
    _set_allegation(case, report)
    session.add(case)
    daily_counts.mark_stale(session, received)  # the statistics count the day again
    session.flush()
    stored = Report(case_id=case.id, content_enc=gw.cipher.encrypt_json(report.content()))
    session.add(stored)
    session.flush()
    for item in report.attachments:
        # Not decoded here (a web request): the worker cleans the original into
        # an attachment (gateway.work.media_fetch), and forwarding waits for it.
        session.add(
            MediaDownload(
                case_id=case.id,
                provider=UPLOADED,
                url_enc=gw.cipher.encrypt(UPLOADED.encode()),
                content_type_hint=type_hint(item.content_type),
                data_enc=gw.cipher.encrypt(item.data),
            )
        )
    session.add(CaseEvent(case_id=case.id, kind=CaseEventKind.FILED.value, actor=actor))
    for provider_name, url, hint in media or []:
        session.add(
            MediaDownload(
                case_id=case.id,
                provider=provider_name,
                url_enc=gw.cipher.encrypt(url.encode()),
                content_type_hint=type_hint(hint),
            )
        )
    waits = media or report.attachments
    outbox_state = (WorkState.WAITING if waits else WorkState.PENDING).value
    for target in gw.settings.forwarders:
        session.add(
            OutboxEntry(case_id=case.id, target=target, kind="case", event_id=0, state=outbox_state)
        )
    session.flush()
    return Receipt(case_id=case.id, case_number=number.display(), pin=pin)


def _set_allegation(case: Case, report: NewReport) -> None:
    """The allegation fields the reporter answered; a child among those harmed makes
    the victims' age group "minor" (nothing is inferred the other way).

    A value the fields do not take is left out, one field at a time: an
    answer never stops a report from being filed.
    """
    for name, raw in report.allegation.items():
        try:
            cleaned = allegation.clean({name: raw})
        except (AllegationError, AttributeError):  # AttributeError: not text at all
            continue
        for field_name, value in cleaned.items():
            setattr(case, field_name, value)
    if report.child_involved and case.victim_age_group in (None, allegation.UNKNOWN):
        case.victim_age_group = "minor"


def find_case(session: Session, text: str, prefix: str = "") -> Case | None:
    """The case a typed case number names, or None (bad check digit, unknown)."""
    number = numbering.parse_case_number(text, prefix)
    if number is None:
        return None
    return session.scalars(select(Case).where(Case.case_number == number.digits)).first()


def display_number(case: Case, prefix: str = "") -> str:
    return numbering.CaseNumber(case.year, case.sequence).display(prefix)


def add_event(
    session: Session,
    gw: Gateway,
    case: Case,
    kind: CaseEventKind,
    actor: str,
    body: str | None = None,
    status: CaseStatus | None = None,
) -> CaseEvent:
    event = CaseEvent(
        case_id=case.id,
        kind=kind.value,
        actor=actor,
        status=status.value if status else None,
        body_enc=gw.cipher.encrypt(body.encode()) if body is not None else None,
    )
    session.add(event)
    waiting.note_event(case, event.kind, utcnow())  # a reporter waiting for an answer, or not
    if event.kind in daily_counts.MARKING_KINDS:  # a first response, a category changed
        daily_counts.mark_stale(session, case.received_at)
    session.flush()
    return event


STATUS_EVENT_TARGETS = ("webhook",)  # targets that are told of status changes


def set_status(
    session: Session,
    gw: Gateway,
    case: Case,
    status: CaseStatus,
    actor: str,
    tell_tracker: bool = True,
) -> CaseEvent | None:
    """Change a case's status; closing a case forgets the reply address.

    The case tracker is told through the outbox (`status_changed`), except
    when the change came from the tracker itself (`tell_tracker=False`).
    """
    if case.status == status.value:
        return None
    case.status = status.value
    if status is CaseStatus.CLOSED:
        case.closed_at = utcnow()
        case.reply_address_enc = None
        case.awaiting_answer_since = None
    event = add_event(session, gw, case, CaseEventKind.STATUS_CHANGED, actor, status=status)
    if tell_tracker:
        for target in gw.settings.forwarders:
            if target in STATUS_EVENT_TARGETS:
                session.add(
                    OutboxEntry(
                        case_id=case.id, target=target, kind="status_changed", event_id=event.id
                    )
                )
        session.flush()
    return event


def reporter_view(gw: Gateway, case: Case) -> list[tuple[datetime, str, str]]:
    """The messages a reporter may see: (time, direction, text), oldest first.

    Only what the focal point wrote and what the reporter wrote later; never
    the report itself, so a status check on a shared phone does not reveal it.
    """
    shown = []
    for event in case.events:
        if event.kind == CaseEventKind.MESSAGE_TO_REPORTER.value and event.body_enc:
            shown.append((event.created_at, "in", gw.cipher.decrypt(event.body_enc).decode()))
        elif event.kind == CaseEventKind.MESSAGE_FROM_REPORTER.value and event.body_enc:
            shown.append((event.created_at, "out", gw.cipher.decrypt(event.body_enc).decode()))
    return shown
