"""What every table shares: the declarative base, its naming convention, UTC timestamps.

Kept apart from the tables (gateway.core.models) so that the names of
constraints and the handling of time are stated once. The naming
convention is part of the schema: the migrations name their constraints
with it, so it must not change.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase


def utcnow() -> datetime:
    """Now, timezone-aware in UTC: what every timestamp column stores."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """The same moment in UTC; a datetime without a zone is refused, never guessed."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        return as_utc(value) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Every table's base; its metadata is what Alembic compares (migrations/env.py)."""

    metadata = MetaData(naming_convention=NAMING)
