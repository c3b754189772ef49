"""The USSD channel's web side: every aggregator's endpoint and `/demo/ussd`, on one blueprint.

Imported by web processes only (the channel's `web`), never by the worker.
"""

from __future__ import annotations

from flask import Blueprint

from . import demo
from .webhooks import africastalking

WEBHOOK_MODULES = (africastalking,)
blueprint = Blueprint("ussd", __name__, template_folder="templates")
for _module in WEBHOOK_MODULES:
    _module.register(blueprint)
demo.register(blueprint)
