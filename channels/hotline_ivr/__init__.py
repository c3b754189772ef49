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

from gateway.core.config import Settings
from gateway.core.providers import Channel, Provider

from . import commands, prompt_files, urgent
from .recordings import (
    CALL_PROVIDER,
    PROVIDER,
    delete_call,
    delete_recording,
    fetch_recording,
    recording_sid,
)

# The recordings: fetched by the worker, then deleted at Twilio (recordings.py).
RECORDINGS = Provider(
    name=PROVIDER,
    label="Twilio Voice hotline",
    routes=("/ivr/twilio/status", "/ivr/twilio/<step>", "/ivr/audio/<locale>/<name>"),
    cleaner=delete_recording,
    media_fetcher=fetch_recording,
    media_copy_id=recording_sid,
    required_settings=("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL"),
    secret_settings=("TWILIO_AUTH_TOKEN",),
)
# The calls' own records at Twilio, deleted once the call has ended.
CALLS = Provider(name=CALL_PROVIDER, label="Twilio Voice call records", cleaner=delete_call)


def check_settings(settings: Settings) -> list[str]:
    """Unreadable urgent hours stop start-up (ConfigError); a missing secret is warned about."""
    urgent.check_settings(settings)
    missing = [name for name in RECORDINGS.required_settings if not settings.get(name)]
    if missing:
        return [
            f"{RECORDINGS.label} is not fully configured ({', '.join(missing)} not set): "
            "its endpoints refuse every call"
        ]
    return []


CHANNEL = Channel(
    name="hotline_ivr",
    web="channels.hotline_ivr.web",
    providers=(RECORDINGS, CALLS),
    add_commands=commands.add_commands,
    checks=(check_settings,),
    voice_prompts=prompt_files.catalog,
)

__all__ = ["CHANNEL", "PROVIDER"]
