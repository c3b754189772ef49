"""The webhook announces stored ids on a plain list; each worker's relay makes them jobs.

Also the latency metric, which counts every webhook, and the Twilio
signature checked once for a genuine request, yet still accepted
with or without the default port as Twilio's servers vary.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from twilio.request_validator import RequestValidator

from gateway.core.inbound import InboundMessage
from gateway.intake import submit as intake
from gateway.work import intake_relay
from gateway.work.inbound import NEW_EVENTS_KEY
from gateway.work.intake_relay import RelayThread, relay, relay_all
from tests.channels.sms.harness import PUBLIC_BASE_URL, fixture
from tests.support import providers
from tests.support.providers import ProviderAPI


@pytest.fixture
def env(env: dict[str, str], provider_api: ProviderAPI) -> dict[str, str]:
    """Twilio configured, its API played by a local server (nothing is sent here)."""
    return {**env, **provider_api.settings()}


def message(mid: str) -> InboundMessage:
    return InboundMessage(
        channel="oneshot",
        provider="testsms",
        provider_message_id=mid,
        sender="+243810000061",
        text="Statement for the relay",
        received_at=datetime(2026, 12, 4, 10, 0, tzinfo=UTC),
    )


def intake_job_ids(gw) -> list[str]:  # type: ignore[no-untyped-def]
    return list(gw.queue("intake").job_ids)


def test_announced_ids_become_intake_jobs_in_order_a_batch_at_a_time(gw) -> None:  # type: ignore[no-untyped-def]
    count = intake_relay.BATCH + 5
    ids = [intake.submit(gw, [message(f"SM-relay-{n}")])[0].event_id for n in range(count)]
    assert [int(raw) for raw in gw.redis.lrange(NEW_EVENTS_KEY, 0, -1)] == ids
    assert intake_job_ids(gw) == []  # the web tier made no job

    assert relay(gw) == intake_relay.BATCH
    assert relay(gw) == 5
    assert relay(gw) == 0 and relay(gw, wait_seconds=0.1) == 0
    assert intake_job_ids(gw) == [f"inbound-{event_id}" for event_id in ids]
    jobs = gw.queue("intake").get_jobs()
    assert [job.args for job in jobs] == [(event_id,) for event_id in ids]  # ids, nothing else


def test_a_repeat_is_not_announced_again(gw) -> None:  # type: ignore[no-untyped-def]
    (first,) = intake.submit(gw, [message("SM-once")])
    (again,) = intake.submit(gw, [message("SM-once")])
    assert again.duplicate and again.event_id == first.event_id
    assert relay_all(gw) == 1


def test_the_relay_thread_makes_jobs_of_what_arrives_while_it_runs(gw) -> None:  # type: ignore[no-untyped-def]
    thread = RelayThread(gw)
    thread.start()
    try:
        (stored,) = intake.submit(gw, [message("SM-live")])
        popped = gw.redis.blpop(["rq:queue:intake"], timeout=10)  # the job's id, once queued
    finally:
        thread.stop()
        thread.join(timeout=10)
    assert popped is not None and popped[1].decode() == f"inbound-{stored.event_id}"
    assert not thread.is_alive()


def _twilio_post(client, params: dict[str, str], url: str, token: str = providers.TWILIO_TOKEN):  # type: ignore[no-untyped-def]
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post("/sms/twilio", data=params, headers={"X-Twilio-Signature": signature})


def _latency_count(client) -> float:  # type: ignore[no-untyped-def]
    text = client.get("/metrics").get_data(as_text=True)
    found = re.search(
        r'^gateway_webhook_latency_seconds_count\{endpoint="sms_twilio"\} (\S+)$', text, re.M
    )
    return float(found.group(1)) if found else 0.0


@pytest.mark.parametrize(
    ("signed_for", "accepted"),
    [
        (PUBLIC_BASE_URL + "/sms/twilio", True),
        ("http://gateway.test:80/sms/twilio", True),  # Twilio adds the default port at times
        ("http://gateway.test:8080/sms/twilio", False),
        ("http://elsewhere.test/sms/twilio", False),
    ],
)
def test_the_twilio_signature_with_and_without_the_default_port(  # type: ignore[no-untyped-def]
    client, gw, signed_for: str, accepted: bool
) -> None:
    params = fixture("twilio", "sms_inbound")["params"]
    response = _twilio_post(client, params, signed_for)
    assert response.status_code == (200 if accepted else 403)
    assert gw.redis.llen(NEW_EVENTS_KEY) == (1 if accepted else 0)


def test_every_webhook_is_counted_in_the_latency_metric_stored_or_refused(client, gw) -> None:  # type: ignore[no-untyped-def]
    params = fixture("twilio", "sms_inbound")["params"]
    url = PUBLIC_BASE_URL + "/sms/twilio"
    assert _twilio_post(client, params, url).status_code == 200  # stored and announced
    assert _twilio_post(client, params, url).status_code == 200  # a repeat: nothing announced
    assert _twilio_post(client, params, url, token="not-the-token").status_code == 403
    assert _latency_count(client) == 3
    assert gw.redis.llen(NEW_EVENTS_KEY) == 1
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'gateway_queue_depth{queue="announced"} 1.0' in metrics
