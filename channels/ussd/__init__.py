"""USSD: the `*123#` menus every operator offers, through an aggregator.

A basic phone's SMS inbox is the most dangerous place for a report: a
partner or a superior reads it. A USSD session leaves nothing on the phone.
One module per aggregator (`africastalking`, with its `DESCRIPTOR`); the
menu (`menu`) and the request's handling (`session`) are shared, so another
aggregator is one more module. `/demo/ussd` (`demo`) walks the menus in a
browser for `complaint-gateway demo`.
"""

from __future__ import annotations

from gateway.core.providers import Channel, missing_settings

from . import africastalking

PROVIDER_MODULES = (africastalking,)

PROVIDERS = tuple(module.DESCRIPTOR for module in PROVIDER_MODULES)

CHANNEL = Channel(
    name="ussd",
    web="channels.ussd.web",
    providers=PROVIDERS,
    checks=(
        missing_settings(
            PROVIDERS,
            "its endpoint refuses every session",
        ),
    ),
)

__all__ = ["CHANNEL"]
