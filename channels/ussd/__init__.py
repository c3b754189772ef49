"""USSD: the `*123#` menus every operator offers, through an aggregator.

A basic phone's SMS inbox is the most dangerous place for a report: a
partner or a superior reads it. A USSD session leaves nothing on the phone.
One module per aggregator (`africastalking`, with its `DESCRIPTOR`); the
menu (`menu`) and the request's handling (`session`) are shared, so another
aggregator is one more module. `/demo/ussd` (`demo`) walks the menus in a
browser for `complaint-gateway demo`.
"""

from __future__ import annotations

from flask import Blueprint

from gateway.core.config import Settings
from gateway.core.providers import Channel

from . import africastalking, demo

PROVIDER_MODULES = (africastalking,)
blueprint = Blueprint("ussd", __name__, template_folder="templates")
for _module in PROVIDER_MODULES:
    _module.register(blueprint)
demo.register(blueprint)


def unconfigured(settings: Settings) -> list[str]:
    """A warning per aggregator whose endpoint refuses everything for want of its key."""
    warnings = []
    for module in PROVIDER_MODULES:
        provider = module.DESCRIPTOR
        missing = [name for name in provider.required_settings if not settings.get(name)]
        if missing:
            warnings.append(
                f"{provider.label} is not fully configured ({', '.join(missing)} not set): "
                "its endpoint refuses every session"
            )
    return warnings


CHANNEL = Channel(
    name="ussd",
    blueprint=blueprint,
    providers=tuple(module.DESCRIPTOR for module in PROVIDER_MODULES),
    checks=(unconfigured,),
)

__all__ = ["CHANNEL", "blueprint"]
