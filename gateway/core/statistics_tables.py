"""The statistics page's pre-computed tables: per-day counts, and the days to count again.

Apart from the case tables (gateway.core.models, which imports this module
so that every table is in one metadata); filled and read by
gateway/cases/daily_counts.py.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.core.schema import Base


class DailyCount(Base):
    """Cases received on one UTC day with one channel, category and language ("*": any).

    Pre-computed for the statistics page (gateway/cases/daily_counts.py):
    `response_us` holds each responded case's exact time to first response,
    in microseconds, sorted, space-separated, so that medians stay exact.
    """

    __tablename__ = "daily_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    reports: Mapped[int] = mapped_column(Integer)
    responded: Mapped[int] = mapped_column(Integer)
    response_us: Mapped[str] = mapped_column(Text, default="")


class DailyCountStale(Base):
    """A day whose daily counts a change made stale, written in the change's transaction.

    Insert-only (no row lock shared between writers); the sweeper deletes the
    marks it read once it has counted the day again.
    """

    __tablename__ = "daily_counts_stale"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
