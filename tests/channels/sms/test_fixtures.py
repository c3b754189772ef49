"""Every recorded provider payload: it says where its shape comes from, and it is taken in.

A message is stored once; a delivery report or status callback is answered
200 on both the report endpoint and the message endpoint, and stores nothing.
"""

from __future__ import annotations

import pytest

from tests.channels.sms.harness import PROVIDERS, all_fixtures, count_events, fixture
from tests.channels.sms.harness import Case as Row

REPORTS = ("status_", "delivery_", "dlr_")


@pytest.mark.parametrize(("provider", "name"), list(all_fixtures()))
def test_every_fixture_is_taken_in(gw, client, provider: str, name: str) -> None:  # type: ignore[no-untyped-def]
    assert fixture(provider, name)["source"].strip()
    adapter = PROVIDERS[provider](client)
    payload = adapter.payload(Row(name, name))
    if name.startswith(REPORTS):
        for path in (adapter.report_path, adapter.message_path):
            assert adapter.call(path, payload).status_code == 200
        assert count_events(gw) == 0
    else:
        assert adapter.call(adapter.message_path, payload).status_code == 200
        assert count_events(gw) == 1
