"""The SMS channel's web side: every provider's webhooks and `/demo/sms`, on one blueprint.

Imported by web processes only (the channel's `web`), never by the worker.
"""

from __future__ import annotations

from flask import Blueprint

from . import demo
from .webhooks import africastalking, kannel, twilio

WEBHOOK_MODULES = (twilio, africastalking, kannel)
blueprint = Blueprint("sms", __name__, template_folder="templates")

for _module in WEBHOOK_MODULES:
    for _path, _methods, _adapter in _module.ROUTES:
        blueprint.add_url_rule(_path, view_func=_adapter.view(), methods=list(_methods))
demo.register(blueprint)
