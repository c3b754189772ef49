"""Reports typed over the screens of a menu session (USSD): kept as they grow, filed once.

A USSD session answers every request at once, on the web process, and an
operator may cut it at any screen. From the screen where the reporter types
what happened, each request's progress is a row in `conversations` (the
same table as the SMS conversations, `channel` "ussd"), written before the
next screen is answered. So a cut session is not lost: the silence rule of
every conversation (gateway.work.silence, after INTAKE_TIMEOUT_SECONDS)
files what it holds and sends the receipt to the reply address, which is
kept only when the reporter agreed to an SMS.

The row is found by a keyed hash of the provider's session id, never the
session id itself. Once filed, its key is kept with a `:filed` suffix, so a
request the operator sends again after the last screen finds the session
filed and files nothing twice. The menu itself (what each input means)
belongs to the channel; this module only keeps and files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.cases.filing import Receipt
from gateway.conversation.filing import file_conversation
from gateway.core.effects import Effects
from gateway.core.models import Conversation
from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow
from gateway.core.states import ConversationState
from gateway.work.effects import start

T = TypeVar("T")
FILED_SUFFIX = ":filed"


def session_key(gw: Gateway, channel: str, session_id: str) -> str:
    """The row's key for one provider session: a keyed hash, never the id itself."""
    return f"{channel}:session:{gw.pseudonyms.digest(f'{channel}-session', session_id)}"


@dataclass
class Draft:
    """A session's report so far, as the channel reads and changes it inside `edit`."""

    session: Session
    gw: Gateway
    key: str
    row: Conversation | None
    filed: bool
    effects: Effects = field(default_factory=Effects)

    @property
    def exists(self) -> bool:
        return self.row is not None

    @property
    def step(self) -> str:
        return self.row.step if self.row is not None else ""

    @property
    def language(self) -> str:
        return self.row.language if self.row is not None else ""

    def answers(self) -> dict[str, Any]:
        if self.row is None:
            return {}
        return dict(self.gw.cipher.decrypt_json(self.row.answers_enc) or {})

    def keep(
        self,
        *,
        step: str,
        language: str,
        answers: dict[str, Any],
        channel: str,
        provider: str,
        sender_pseudonym: str,
        reply_address: str | None,
    ) -> None:
        """Write the draft as it is now; the reply address only if the reporter agreed."""
        if self.filed:
            raise ValueError("a filed session cannot change")
        row = self.row
        if row is None:
            row = Conversation(
                channel=channel,
                provider=provider,
                sender_pseudonym=sender_pseudonym,
                open_key=self.key,
                state=ConversationState.OPEN.value,
            )
            self.session.add(row)
            self.row = row
        row.step = step
        row.language = language
        row.answers_enc = self.gw.cipher.encrypt_json(answers)
        row.address_enc = self.gw.cipher.encrypt(reply_address.encode()) if reply_address else None
        row.last_activity_at = utcnow()
        self.session.flush()  # a concurrent first write of the same session fails here

    def file(self) -> Receipt | None:
        """File the draft now; None when it holds nothing to file."""
        if self.row is None or self.filed:
            return None
        filed = file_conversation(self.session, self.gw, self.row)
        if filed is None:
            return None
        self.row.open_key = self.key + FILED_SUFFIX
        self.filed = True
        self.effects.new_cases.append(filed.case_id)
        return filed.numbers


def edit(gw: Gateway, key: str, change: Callable[[Draft], T]) -> T:
    """Run `change` on the session's draft in one transaction, the row locked; then start jobs.

    Two copies of one request (an operator's retry) are run one after the
    other: the second sees what the first wrote. When both were the
    session's first write, the loser's insert fails and `change` runs again
    on the row the winner wrote.
    """
    for attempt in range(2):
        try:
            with gw.sessions() as session, session.begin():
                draft = _load(session, gw, key)
                result = change(draft)
            start(gw, draft.effects)
            return result
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _load(session: Session, gw: Gateway, key: str) -> Draft:
    row = session.scalars(
        select(Conversation)
        .where(Conversation.open_key.in_([key, key + FILED_SUFFIX]))
        .with_for_update()
    ).first()
    filed = row is not None and (
        row.open_key == key + FILED_SUFFIX or row.state != ConversationState.OPEN.value
    )
    return Draft(session=session, gw=gw, key=key, row=row, filed=filed)
