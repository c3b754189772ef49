"""SMS and WhatsApp: one module per provider, mounted on one blueprint.

Each provider module (twilio, africastalking, kannel) declares its
`ROUTES` (path, methods, adapter) and its `DESCRIPTOR` (a
`gateway.core.providers.Provider`: sender, cleaner, media fetcher, the
settings it needs, WhatsApp's session window). This package mounts the
routes and describes itself in `CHANNEL`, which the composition root
(`gateway.app.load_channels`) installs; its check warns at start-up about a
provider whose endpoints will refuse everything for want of a secret.
channels/README.md is the checklist for adding a provider.
"""

from __future__ import annotations

from flask import Blueprint

from gateway.core.config import Settings
from gateway.core.providers import Channel

from . import africastalking, demo, kannel, twilio

PROVIDER_MODULES = (twilio, africastalking, kannel)
blueprint = Blueprint("sms", __name__, template_folder="templates")

for _module in PROVIDER_MODULES:
    for _path, _methods, _adapter in _module.ROUTES:
        blueprint.add_url_rule(_path, view_func=_adapter.view(), methods=list(_methods))
demo.register(blueprint)


def unconfigured(settings: Settings) -> list[str]:
    """One warning per provider missing a setting it needs: its endpoints refuse everything."""
    warnings = []
    for module in PROVIDER_MODULES:
        provider = module.DESCRIPTOR
        missing = [name for name in provider.required_settings if not settings.get(name)]
        if missing:
            warnings.append(
                f"{provider.label} is not fully configured ({', '.join(missing)} not set): "
                "its endpoints refuse or cannot answer"
            )
    return warnings


CHANNEL = Channel(
    name="sms",
    blueprint=blueprint,
    providers=tuple(module.DESCRIPTOR for module in PROVIDER_MODULES),
    conversation_channels=("sms", "whatsapp"),
    checks=(unconfigured,),
)

__all__ = ["CHANNEL", "blueprint"]
