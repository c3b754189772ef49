"""Fixtures of the SMS providers' tests: their settings, and a local server playing their APIs."""

from __future__ import annotations

import pytest

from tests.channels.sms.harness import AT_KEY, KANNEL_KEY
from tests.support.providers import ProviderAPI


@pytest.fixture
def env(env: dict[str, str], provider_api: ProviderAPI) -> dict[str, str]:
    """The gateway's environment with every SMS provider pointed at the local server."""
    return {
        **env,
        **provider_api.settings(),
        "AFRICASTALKING_CALLBACK_KEY": AT_KEY,
        "KANNEL_CALLBACK_KEY": KANNEL_KEY,
    }
