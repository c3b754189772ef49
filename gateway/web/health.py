"""`GET /healthz` and `GET /metrics` (Prometheus text; counts only, no personal data)."""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select, text

from gateway.cases import waiting
from gateway.cases.lookup_budget import families as lookup_families
from gateway.console.signin_metrics import families as signin_families
from gateway.core.models import Case, ForwardingAttempt, InboundEvent, OutboundMessage, OutboxEntry
from gateway.core.runtime import Gateway
from gateway.intake.metrics import latency_families
from gateway.work.inbound import NEW_EVENTS_KEY

blueprint = Blueprint("health", __name__)


def _gw() -> Gateway:
    return current_app.extensions["gateway"]  # type: ignore[no-any-return]


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    gw = _gw()
    failed = []
    try:
        with gw.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001
        failed.append("database")
    try:
        gw.redis.ping()
    except Exception:  # noqa: BLE001
        failed.append("redis")
    body = {"status": "ok" if not failed else "unavailable", "failed": failed}
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if not failed else 503


class GatewayCollector:
    """Reads the figures from the database and Redis at scrape time.

    They are the same whichever web process is scraped, which process
    counters in a multi-process server would not be.
    """

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    def collect(self):  # type: ignore[no-untyped-def]
        gw = self.gw
        with gw.sessions() as session:
            reports = CounterMetricFamily(
                "gateway_reports", "Cases filed, by channel", labels=["channel"]
            )
            for channel, count in session.execute(
                select(Case.channel, func.count()).group_by(Case.channel)
            ):
                reports.add_metric([channel], count)
            yield reports
            escalated = GaugeMetricFamily(
                "gateway_cases_escalated_unopened",
                "Open urgent cases escalated and still not opened in the console",
            )
            unopened = select(func.count()).select_from(Case).where(waiting.ESCALATED)
            escalated.add_metric([], session.scalar(unopened) or 0)
            yield escalated
            inbound = GaugeMetricFamily(
                "gateway_inbound_events", "Inbound events by state", labels=["channel", "state"]
            )
            for channel, state, count in session.execute(
                select(InboundEvent.channel, InboundEvent.state, func.count()).group_by(
                    InboundEvent.channel, InboundEvent.state
                )
            ):
                inbound.add_metric([channel, state], count)
            yield inbound
            outbox = GaugeMetricFamily(
                "gateway_forwarding_outbox",
                "Forwarding work by target and state",
                labels=["target", "state"],
            )
            for target, state, count in session.execute(
                select(OutboxEntry.target, OutboxEntry.state, func.count()).group_by(
                    OutboxEntry.target, OutboxEntry.state
                )
            ):
                outbox.add_metric([target, state], count)
            yield outbox
            attempts = CounterMetricFamily(
                "gateway_forwarding_attempts",
                "Forwarding attempts by outcome",
                labels=["outcome"],
            )
            for outcome, count in session.execute(
                select(ForwardingAttempt.outcome, func.count()).group_by(ForwardingAttempt.outcome)
            ):
                attempts.add_metric([outcome], count)
            yield attempts
            messages = GaugeMetricFamily(
                "gateway_outbound_messages",
                "Messages to reporters by state",
                labels=["channel", "state"],
            )
            for channel, state, count in session.execute(
                select(OutboundMessage.channel, OutboundMessage.state, func.count()).group_by(
                    OutboundMessage.channel, OutboundMessage.state
                )
            ):
                messages.add_metric([channel, state], count)
            yield messages
        depth = GaugeMetricFamily("gateway_queue_depth", "Jobs waiting per queue", labels=["queue"])
        for queue in gw.queues():
            depth.add_metric([queue.name], queue.count)
        # Messages stored by the web tier that no worker's relay has made jobs yet.
        depth.add_metric(["announced"], gw.redis.llen(NEW_EVENTS_KEY))
        yield depth
        yield from latency_families(gw)
        yield from lookup_families(gw)
        yield from signin_families(gw)


@blueprint.get("/metrics")
def metrics() -> Response:
    registry = CollectorRegistry()
    registry.register(GatewayCollector(_gw()))
    started = time.monotonic()
    output = generate_latest(registry)
    output += f"# scrape took {time.monotonic() - started:.3f}s\n".encode()
    return Response(output, mimetype=CONTENT_TYPE_LATEST)
