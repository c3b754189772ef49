"""The voice hotline (IVR) on Twilio Voice: report and check a report by keypad and voice.

For people who cannot read or write, or who share a phone they cannot text
from safely. The call flow is in `flow` (menus and the
report's questions), `filing` (the report filed at once, the receipt, the
status callbacks) and `checking` (a status check by keypad), built from
`steps`; the call's state travels in its URLs (`calls`); the prompts
(recorded audio per language, text-to-speech as fallback) are in
`prompts`; the recordings' fetch and deletion at Twilio in `recordings`;
`/demo/ivr` in `demo`. Set-up: docs/providers/twilio-voice.md.

- Twilio Voice webhooks: https://www.twilio.com/docs/usage/webhooks/voice-webhooks
- TwiML for voice: https://www.twilio.com/docs/voice/twiml
"""

from __future__ import annotations

import logging

from flask.blueprints import BlueprintSetupState

from gateway.work.cleanup import register_cleanup
from gateway.work.media_fetch import register_fetcher

from . import demo, urgent
from .recordings import (
    CALL_PROVIDER,
    PROVIDER,
    delete_call,
    delete_recording,
    fetch_recording,
    recording_sid,
)
from .views import blueprint

log = logging.getLogger(__name__)

service_name = "Twilio Voice hotline"
REQUIRED_SETTINGS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL")
SECRET_SETTINGS = ("TWILIO_AUTH_TOKEN",)

register_fetcher(PROVIDER, fetch_recording, copy_id=recording_sid)
register_cleanup(PROVIDER, delete_recording)
register_cleanup(CALL_PROVIDER, delete_call)
demo.register(blueprint)


def _check_settings(state: BlueprintSetupState) -> None:
    """Unreadable urgent hours stop start-up; a missing secret is warned about."""
    settings = state.app.extensions["gateway"].settings
    urgent.check_settings(settings)
    missing = [name for name in REQUIRED_SETTINGS if not settings.get(name)]
    if missing:
        log.warning(
            "%s is not fully configured (%s not set): its endpoints refuse every call",
            service_name,
            ", ".join(missing),
        )


blueprint.record_once(_check_settings)

__all__ = ["blueprint", "PROVIDER", "REQUIRED_SETTINGS", "SECRET_SETTINGS"]
