"""The PIN and password hashes a deployed process makes have the contract's cost.

The tests' own process hashes cheaply (tests/support/hashing.py); this test
reads the parameters in a fresh interpreter, as `serve` and `worker` import
the modules, and hashes once with each.
"""

from __future__ import annotations

import json
import subprocess
import sys

from argon2.profiles import RFC_9106_LOW_MEMORY

PROBE = """
import json
import argon2
from gateway.cases import numbering
from gateway.console import signin, users
hashes = {
    "pin": numbering.hash_pin("123456"),
    "pin dummy": numbering.DUMMY_PIN_HASH,
    "password": users.HASHER.hash("a password"),
    "password dummy": signin.DUMMY_HASH,
}
print(json.dumps({k: repr(argon2.extract_parameters(v)) for k, v in hashes.items()}))
"""


def test_a_fresh_process_hashes_pins_and_passwords_at_rfc_9106_low_memory() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    found = json.loads(out)
    assert sorted(found) == ["password", "password dummy", "pin", "pin dummy"]
    for name, parameters in found.items():  # Argon2id, 3 passes over 64 MiB, 4 lanes
        assert parameters == repr(RFC_9106_LOW_MEMORY), name
