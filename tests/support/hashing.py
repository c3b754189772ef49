"""Cheap Argon2id for the tests that run the gateway in their own process.

Every PIN and console password is hashed with Argon2id at RFC 9106's
low-memory profile (64 MiB, 3 passes: a quarter of a second of CPU here),
on purpose. In the suite that was most of the time: each test files cases,
creates console users and signs them in. The tests' own process hashes with
one pass over 8 KiB instead; what the hash is (Argon2id, verified, a dummy
of the same parameters for unknown users and cases) is unchanged.

The processes the tests start (serve, worker, demo, the command line in a
subprocess) keep the real parameters, and tests/test_hash_cost.py checks
them in a fresh interpreter.
"""

from __future__ import annotations

from argon2 import PasswordHasher

from gateway.cases import numbering
from gateway.console import signin, users

CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def use_cheap_hashes() -> None:
    """Hash and verify with CHEAP in this process, dummies included."""
    numbering._hasher = CHEAP
    numbering.DUMMY_PIN_HASH = CHEAP.hash("not a PIN of anyone")
    users.HASHER = CHEAP
    signin.DUMMY_HASH = CHEAP.hash("not a password of anyone")
