"""SMS and WhatsApp: one module per provider, mounted on one blueprint.

Each provider module (twilio, africastalking, kannel) declares its
`DESCRIPTOR` (a `gateway.core.providers.Provider`: sender, cleaner, media
fetcher, the settings it needs, WhatsApp's session window); its webhooks,
with their `ROUTES` (path, methods, adapter), are in `webhooks/<provider>.py`,
mounted by `web.py` in web processes only. This package describes itself
in `CHANNEL`, which the composition root
(`gateway.channel_packages.load_channels`) installs; its check warns at start-up about a
provider whose endpoints will refuse everything for want of a secret.
channels/README.md is the checklist for adding a provider.
"""

from __future__ import annotations

from gateway.core.providers import Channel, missing_settings

from . import africastalking, kannel, twilio

PROVIDER_MODULES = (twilio, africastalking, kannel)
PROVIDERS = tuple(module.DESCRIPTOR for module in PROVIDER_MODULES)

CHANNEL = Channel(
    name="sms",
    web="channels.sms.web",
    providers=PROVIDERS,
    conversation_channels=("sms", "whatsapp"),
    checks=(
        missing_settings(
            PROVIDERS,
            "its endpoints refuse or cannot answer",
        ),
    ),
)

__all__ = ["CHANNEL"]
