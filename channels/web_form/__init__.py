"""The low-bandwidth web form: `/report` and `/status` for any browser, on 2G, without JavaScript.

Pages are server-rendered, under 10 KB with their style, in every configured
language (right to left for Arabic); they set no cookie, are never cached
and load nothing from another origin. See docs/onion-service.md to publish
the form as a Tor onion service.
"""

from __future__ import annotations

from gateway.core.providers import Channel

# No provider: the reporter's browser talks to the gateway directly.
CHANNEL = Channel(name="web_form", web="channels.web_form.views")

__all__ = ["CHANNEL"]
