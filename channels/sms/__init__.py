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

from gateway.core.providers import Channel, missing_settings

from . import africastalking, demo, kannel, twilio

PROVIDER_MODULES = (twilio, africastalking, kannel)
blueprint = Blueprint("sms", __name__, template_folder="templates")

for _module in PROVIDER_MODULES:
    for _path, _methods, _adapter in _module.ROUTES:
        blueprint.add_url_rule(_path, view_func=_adapter.view(), methods=list(_methods))
demo.register(blueprint)

PROVIDERS = tuple(module.DESCRIPTOR for module in PROVIDER_MODULES)

CHANNEL = Channel(
    name="sms",
    blueprint=blueprint,
    providers=PROVIDERS,
    conversation_channels=("sms", "whatsapp"),
    checks=(
        missing_settings(
            PROVIDERS,
            "its endpoints refuse or cannot answer",
        ),
    ),
)

__all__ = ["CHANNEL", "blueprint"]
