"""The HTTP side of every provider webhook: verify → parse → store → acknowledge.

A provider's webhook module subclasses `WebhookAdapter` and implements `verify` and
`parse` (and `acknowledge` when the provider wants a special body, like
TwiML's empty `<Response/>`). The errors of `webhook_errors` carry the HTTP
answer of the contract. Nothing here logs a request body.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

from flask import Request, Response, current_app, request

from gateway.core.inbound import InboundMessage
from gateway.core.runtime import Gateway
from gateway.intake import submit as intake
from gateway.intake.metrics import observe
from gateway.intake.submit import Submitted
from gateway.intake.webhook_errors import Ignored, WebhookError

log = logging.getLogger(__name__)


MAX_MESSAGE_ID = 128  # inbound_events.provider_message_id


def storable(gw: Gateway, message: InboundMessage) -> InboundMessage:
    """The message with a provider id the database can store and compare exactly.

    An id with a NUL (PostgreSQL text cannot hold one) or longer than the
    column is replaced by a keyed digest of it: stable, so a redelivery is
    still recognised, and never truncated, so two long ids that share a
    prefix stay two messages. Such an id is odd, not a reason to lose a report.
    """
    given = message.provider_message_id
    if "\x00" not in given and len(given) <= MAX_MESSAGE_ID:
        return message
    return replace(message, provider_message_id="digest-" + gw.pseudonyms.digest("id", given))


class WebhookAdapter:
    """Base of a provider's inbound webhook. Subclasses set `provider` and `endpoint`."""

    provider: str = ""
    endpoint: str = ""  # a name for metrics and logs, never a URL with data

    def verify(self, req: Request, gw: Gateway) -> None:
        raise NotImplementedError

    def parse(self, req: Request, gw: Gateway) -> list[InboundMessage]:
        raise NotImplementedError

    def acknowledge(self, submitted: list[Submitted]) -> Response:
        return Response("", status=200)

    def answer_error(self, error: WebhookError) -> Response:
        if isinstance(error, Ignored):
            return self.acknowledge([])
        return Response(error.public, status=error.status, mimetype="text/plain")

    def handle(self) -> Response:
        """The whole webhook path; the least possible work before answering."""
        gw: Gateway = current_app.extensions["gateway"]
        started = time.perf_counter()
        try:
            self.verify(request, gw)
            messages = self.parse(request, gw)
            messages = [storable(gw, message) for message in messages]
            submitted = intake.submit(gw, messages) if messages else []
            response = self.acknowledge(submitted)
        except WebhookError as error:
            if error.status >= 400:
                log.info("%s webhook refused: %s", self.endpoint, error.status)
            response = self.answer_error(error)
        observe(gw, self.endpoint, time.perf_counter() - started)
        return response

    def view(self) -> Callable[[], Response]:
        """A Flask view function for this adapter."""

        def _view() -> Response:
            return self.handle()

        _view.__name__ = f"webhook_{self.endpoint}"
        return _view
