"""Case numbers and PINs (contract in docs/contract.md).

A case number is the year, a per-year sequence of at least six digits
allocated by the database, and a Damm check digit over all those digits:
shown as `2026-000123-4`, accepted with any separators or none, with or
without the display prefix. The Damm digit catches every single-digit error
and every swap of adjacent digits, the two mistakes made on a keypad.

A PIN is six random digits, shown once, stored only as an Argon2id hash.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.core.models import CaseNumberCounter

# The standard Damm operation table (a totally anti-symmetric quasigroup of order 10).
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
SEQUENCE_WIDTH = 6
PIN_LENGTH = 6


def damm_digit(digits: str) -> int:
    """The Damm check digit of a string of decimal digits."""
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][int(ch)]
    return interim


@dataclass(frozen=True)
class CaseNumber:
    year: int
    sequence: int

    @property
    def digits(self) -> str:
        body = f"{self.year:04d}{self.sequence:0{SEQUENCE_WIDTH}d}"
        return body + str(damm_digit(body))

    def display(self, prefix: str = "") -> str:
        seq = f"{self.sequence:0{SEQUENCE_WIDTH}d}"
        check = damm_digit(f"{self.year:04d}{seq}")
        return f"{prefix}{self.year:04d}-{seq}-{check}"

    def __str__(self) -> str:
        return self.display()


def parse_case_number(text: str, prefix: str = "") -> CaseNumber | None:
    """The case number in `text`, or None when it is not a valid one.

    Accepts any separators (spaces, dashes, dots, slashes) or none, and the
    display prefix or not. The check digit must match.
    """
    cleaned = text.strip()
    if prefix and cleaned.upper().startswith(prefix.upper()):
        cleaned = cleaned[len(prefix) :]
    if re.search(r"[^\d\s\-./_#]", cleaned):
        return None
    digits = re.sub(r"\D", "", cleaned)
    if len(digits) < 4 + SEQUENCE_WIDTH + 1 or len(digits) > 20:
        return None
    if damm_digit(digits) != 0:
        return None
    return CaseNumber(year=int(digits[:4]), sequence=int(digits[4:-1]))


def allocate_case_number(session: Session, year: int) -> CaseNumber:
    """Take the next number of `year` inside the caller's transaction.

    The counter row is incremented with UPDATE … RETURNING, which holds the
    row lock until the transaction ends: concurrent allocations queue behind
    each other, and a rolled-back transaction gives its number back, so the
    sequence has neither gaps nor duplicates.
    """
    stmt = (
        update(CaseNumberCounter)
        .where(CaseNumberCounter.year == year)
        .values(last_value=CaseNumberCounter.last_value + 1)
        .returning(CaseNumberCounter.last_value)
    )
    value = session.execute(stmt).scalar_one_or_none()
    if value is None:
        dialect = session.get_bind().dialect.name
        dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            dialect_insert(CaseNumberCounter)
            .values(year=year, last_value=0)
            .on_conflict_do_nothing(index_elements=["year"])
        )
        value = session.execute(stmt).scalar_one()
    return CaseNumber(year=year, sequence=value)


def last_allocated(session: Session, year: int) -> int:
    value = session.execute(
        select(CaseNumberCounter.last_value).where(CaseNumberCounter.year == year)
    ).scalar_one_or_none()
    return value or 0


# Argon2id with the library's defaults (RFC 9106 low-memory profile): slow enough
# that the 10^6 PINs of one case cannot be tried offline in useful time.
_hasher = PasswordHasher()


def new_pin() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(PIN_LENGTH))


def hash_pin(pin: str) -> str:
    return _hasher.hash(pin)


def verify_pin(pin_hash: str, pin: str) -> bool:
    candidate = re.sub(r"\D", "", pin)
    try:
        return _hasher.verify(pin_hash, candidate)
    except (VerificationError, InvalidHashError):
        return False


# A valid hash that matches no PIN: verified against when the case does not exist,
# so a look-up takes the same time whether or not the case number is real.
DUMMY_PIN_HASH = _hasher.hash(secrets.token_hex(16))
