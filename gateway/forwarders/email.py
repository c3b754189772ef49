"""E-mail alert to the focal points' mailbox: a case exists, never what it says.

SMTP_URL (`smtp://user:password@host:port`), SMTP_STARTTLS (default true;
false only for a relay on the same host), ALERT_EMAIL_FROM, ALERT_EMAIL_TO
(comma separated; one message per address, so no one sees the list). The
mail gives the case number, the urgency flags and a link to the case in the
console; an escalation (gateway/work/escalation.py) says the same of an
urgent case nobody has opened in time. A password is sent only over TLS or
to a relay on the loopback.
"""

from __future__ import annotations

import hashlib
import ipaddress
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

from gateway.core.config import ConfigError, Settings
from gateway.core.i18n import _, gettext
from gateway.core.runtime import current
from gateway.forwarders.base import Delivery, Outcome, Result

SUBJECT = _("New report %(case)s")
SUBJECT_URGENT = _("URGENT new report %(case)s")
BODY = _(
    "A new report was received: case %(case)s.\n"
    "Someone in danger now: %(danger)s. A child affected: %(child)s.\n"
    "Open it in the console (sign-in required): %(link)s\n\n"
    "This message does not contain the report. Do not forward it."
)
SUBJECT_ESCALATION = _("URGENT case %(case)s not opened yet")
BODY_ESCALATION = _(
    "An urgent case has not been opened in the console yet: case %(case)s.\n"
    "Hours since it was received: %(hours)s.\n"
    "Someone in danger now: %(danger)s. A child affected: %(child)s.\n"
    "Open it in the console (sign-in required): %(link)s\n\n"
    "This message does not contain the report. Do not forward it."
)
YES, NO = _("yes"), _("no")
SENT_KEY = "complaint-gateway:email-sent:"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class EmailForwarder:
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool
    sender: str
    recipients: list[str]
    console_base: str
    locale: str
    ca_file: str | None = None
    name: str = "email"

    @classmethod
    def from_settings(cls, settings: Settings) -> EmailForwarder:
        raw = settings.get("SMTP_URL")
        if not raw:
            raise ConfigError("SMTP_URL is not set but FORWARDERS includes email")
        url = urlparse(raw)
        if url.scheme not in ("smtp", "smtps") or not url.hostname:
            raise ConfigError("SMTP_URL must look like smtp://user:password@host:port")
        starttls = (settings.get("SMTP_STARTTLS", "true") or "true").lower() not in (
            "false",
            "0",
            "no",
        )
        if url.password and not starttls and not _is_loopback(url.hostname):
            raise ConfigError(
                "SMTP_STARTTLS=false sends the SMTP password in clear: allowed only to a relay"
                " on the loopback address"
            )
        recipients = [
            a.strip() for a in (settings.get("ALERT_EMAIL_TO") or "").split(",") if a.strip()
        ]
        if not recipients:
            raise ConfigError("ALERT_EMAIL_TO is not set but FORWARDERS includes email")
        sender = settings.get("ALERT_EMAIL_FROM")
        if not sender:
            raise ConfigError("ALERT_EMAIL_FROM is not set but FORWARDERS includes email")
        return cls(
            host=url.hostname,
            port=url.port or 587,
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
            starttls=starttls,
            sender=sender,
            recipients=recipients,
            console_base=(settings.public_base_url or "http://localhost:8080") + "/console/cases/",
            locale=(settings.locales or ("en",))[0],
            ca_file=settings.get("SMTP_CA_FILE"),
        )

    def message(self, delivery: Delivery, recipient: str) -> EmailMessage:
        """A new case's alert, or (kind "escalation") an urgent case nobody has opened."""
        payload = delivery.payload
        urgency = payload.get("urgency") or {}
        escalation = delivery.kind == "escalation"
        urgent = escalation or bool(urgency.get("danger_now") or urgency.get("child_involved"))
        case = str(payload["case_number"])
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = recipient
        subject = SUBJECT_ESCALATION if escalation else SUBJECT_URGENT if urgent else SUBJECT
        mail["Subject"] = gettext(self.locale, subject, case=case)
        if urgent:
            mail["Importance"] = "high"
        yes, no = gettext(self.locale, YES), gettext(self.locale, NO)
        mail.set_content(
            gettext(
                self.locale,
                BODY_ESCALATION if escalation else BODY,
                case=case,
                hours=payload.get("waited_hours", ""),
                danger=yes if urgency.get("danger_now") else no,
                child=yes if urgency.get("child_involved") else no,
                link=self.console_base + case,
            )
        )
        return mail

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context(cafile=self.ca_file)
        smtp = smtplib.SMTP(self.host, self.port, timeout=30)
        if self.starttls:
            smtp.starttls(context=context)
        elif self.password and not _is_loopback(self.host):
            smtp.quit()
            raise ConfigError("refusing to send the SMTP password without TLS")
        if self.username and self.password:
            smtp.login(self.username, self.password)
        return smtp

    def deliver(self, delivery: Delivery) -> Result:
        if delivery.kind not in ("case", "escalation"):
            return Result(Outcome.DELIVERED, None, None)  # no alert for a status change
        redis = current().redis
        sent_key = SENT_KEY + hashlib.sha256(delivery.idempotency_key.encode()).hexdigest()[:32]
        try:
            already = {m.decode() for m in redis.smembers(sent_key)}
        except Exception:  # noqa: BLE001 - without Redis, a retry may repeat an alert
            already = set()
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            return Result(Outcome.RETRY, None, f"{type(exc).__name__}: cannot reach SMTP server")
        failed = []
        with smtp:
            for index, recipient in enumerate(self.recipients):
                marker = str(index)
                if marker in already:
                    continue
                try:
                    smtp.send_message(self.message(delivery, recipient))
                except smtplib.SMTPRecipientsRefused:
                    failed.append(f"recipient {index + 1} refused")
                    continue
                except (OSError, smtplib.SMTPException) as exc:
                    return Result(Outcome.RETRY, None, f"{type(exc).__name__} while sending")
                try:
                    redis.sadd(sent_key, marker)
                    redis.expire(sent_key, 14 * 86400)
                except Exception:  # noqa: BLE001,S110
                    pass
        if failed:
            return Result(Outcome.DEAD, None, "; ".join(failed))
        return Result(Outcome.DELIVERED, None, None)
