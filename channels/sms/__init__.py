"""SMS and WhatsApp: one module per provider, mounted on one blueprint.

Each provider module (twilio, africastalking, kannel) declares its
`ROUTES` (path, methods, adapter), registers its sender (and, where the
provider allows deleting its copies, its cleaner) at import, and lists its
`REQUIRED_SETTINGS`; this package mounts the routes and warns at start-up,
once, about a provider whose endpoints will refuse everything for want of a
secret. channels/README.md is the checklist for adding a provider.
"""

from __future__ import annotations

import logging

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

from . import africastalking, demo, kannel, twilio

log = logging.getLogger(__name__)

PROVIDERS = (twilio, africastalking, kannel)
blueprint = Blueprint("sms", __name__, template_folder="templates")

for _module in PROVIDERS:
    for _path, _methods, _adapter in _module.ROUTES:
        blueprint.add_url_rule(_path, view_func=_adapter.view(), methods=list(_methods))
demo.register(blueprint)

_warned: set[str] = set()


def _warn_unconfigured(state: BlueprintSetupState) -> None:
    settings = state.app.extensions["gateway"].settings
    for module in PROVIDERS:
        missing = [name for name in module.REQUIRED_SETTINGS if not settings.get(name)]
        if missing and module.PROVIDER not in _warned:
            _warned.add(module.PROVIDER)
            log.warning(
                "%s is not fully configured (%s not set): its endpoints refuse or cannot answer",
                module.service_name,
                ", ".join(missing),
            )


blueprint.record_once(_warn_unconfigured)

__all__ = ["blueprint", "PROVIDERS"]
