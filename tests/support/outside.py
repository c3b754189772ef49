"""Each SMS provider calling a deployed gateway from outside, as the provider calls it.

Twilio (SMS and WhatsApp, signed with the auth token over PUBLIC_BASE_URL),
Africa's Talking (`?key=`), Kannel's get-url (the text in the query, as
smsbox sends it with mo-recode on) and post-url (the text in the body,
X-Kannel headers). The request shapes are the harness's
(tests/channels/sms/harness.py), sent over HTTP by `HttpClient`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from tests.channels.sms import harness
from tests.channels.sms.harness import receipt_parts
from tests.support import providers
from tests.support.served import HttpClient


@dataclass(frozen=True)
class SmsReporter:
    label: str
    provider: str  # twilio, africastalking, kannel-get, kannel-post
    number: str  # E.164
    word: str  # the distinctive word of the report
    address: str = ""  # as the provider gives it (whatsapp:+…), default the number

    def statement(self, place: str) -> str:
        return f"{self.word} took money for food behind {place} market"

    @property
    def to(self) -> str:
        return self.address or self.number


def twilio_form(reporter: SmsReporter, text: str) -> dict[str, str]:
    form = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": providers.TWILIO_SID,
        "From": reporter.to,
        "To": "whatsapp:+14155550100" if reporter.address else "+243810009998",
        "Body": text,
        "NumMedia": "0",
        "SmsStatus": "received",
    }
    if reporter.address:
        form.update(ProfileName="Neema Kiberiti", WaId=reporter.number.lstrip("+"))
    return form


def send_sms(client: HttpClient, reporter: SmsReporter, text: str) -> int:
    """One SMS from `reporter`, as its provider delivers it; the gateway's status code."""
    if reporter.provider == "twilio":
        twilio = harness.Twilio(client)  # type: ignore[arg-type]
        return int(twilio.call(twilio.message_path, twilio_form(reporter, text)).status_code)
    if reporter.provider == "africastalking":
        at = harness.AfricasTalking(client)  # type: ignore[arg-type]
        form = {
            "id": "ATXid_" + uuid.uuid4().hex,
            "from": reporter.number,
            "to": "12345",
            "text": text,
            "date": "2026-03-01 10:00:00",
            "linkId": uuid.uuid4().hex,
        }
        return int(at.call(at.message_path, form).status_code)
    if reporter.provider == "kannel-post":
        response = client.post(
            f"/sms/kannel?key={harness.KANNEL_KEY}&id={uuid.uuid4()}",
            data=text.encode(),
            content_type='text/plain; charset="UTF-8"',
            headers={
                "X-Kannel-From": reporter.number,
                "X-Kannel-To": "1234",
                "X-Kannel-Time": "2026-03-01 10:00:00",
                "X-Kannel-SMSC": "FAKE",
                "X-Kannel-Coding": "0",
            },
        )
        return response.status_code
    kannel = harness.Kannel(client)  # type: ignore[arg-type]
    query = {
        "from": reporter.number,
        "to": "1234",
        # As smsbox sends it with mo-recode on: UTF-8 bytes (the harness encodes latin-1).
        "text": text.encode().decode("latin-1"),
        "ts": "2026-03-01 10:00:00",
        "smsc": "FAKE",
        "id": str(uuid.uuid4()),
        "coding": "0",
        "charset": "UTF-8",
    }
    return int(kannel.call(kannel.message_path, query).status_code)


def receipt_in(texts: list[str]) -> tuple[str, str] | None:
    """(case number, PIN) from the first text that is a receipt, if any."""
    for text in texts:
        if re.search(r"\d{4}-\d{6,}-\d\D+\d{6}", text):
            return receipt_parts(text)
    return None
