"""The hotline's web side: Twilio Voice's webhooks (`views`) and `/demo/ivr` (`demo`).

Imported by web processes only (the channel's `web`); the worker fetches and
deletes recordings without Flask.
"""

from __future__ import annotations

from . import demo
from .views import blueprint

demo.register(blueprint)

__all__ = ["blueprint"]
