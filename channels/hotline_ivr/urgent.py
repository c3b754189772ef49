"""When a caller says someone is in danger now: whom to connect them to, and when.

IVR_URGENT_DIAL_NUMBER is a staffed number; IVR_URGENT_HOURS says when
someone is there, in IVR_TIMEZONE (an IANA name, default UTC), as day
ranges and hours separated by semicolons: `Mon-Fri 08:00-18:00; Sat
09:00-13:00`. Without IVR_URGENT_HOURS the number is taken as staffed at
all times. The connection is made with `<Dial>`
(https://www.twilio.com/docs/voice/twiml/dial), from the hotline's own
number (IVR_CALLER_ID, else the number the reporter called) so the staffed
phone never shows the reporter's number.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.core.config import ConfigError, Settings

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(
    r"^\s*(?P<days>[A-Za-z,\-\s]+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$"
)

clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731 - replaced in tests


@dataclass(frozen=True)
class Window:
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time | None  # None: until midnight ("24:00")

    def contains(self, moment: datetime) -> bool:
        now = moment.time().replace(tzinfo=None)
        return (
            moment.weekday() in self.days
            and self.start <= now
            and (self.end is None or now < self.end)
        )


def _day(name: str, spec: str) -> int:
    key = name.strip().lower()[:3]
    if key not in DAYS:
        raise ConfigError(f"IVR_URGENT_HOURS: unknown day {name.strip()!r} in {spec!r}")
    return DAYS.index(key)


def _time(value: str, spec: str) -> time | None:
    hours, minutes = (int(part) for part in value.split(":"))
    if (hours, minutes) == (24, 0):
        return None
    if hours > 23 or minutes > 59:
        raise ConfigError(f"IVR_URGENT_HOURS: bad time {value!r} in {spec!r}")
    return time(hours, minutes)


def parse_hours(spec: str) -> list[Window]:
    """`Mon-Fri 08:00-18:00; Sat 09:00-13:00` → windows; ConfigError naming the problem."""
    windows = []
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        match = _WINDOW.match(part)
        if match is None:
            raise ConfigError(
                f"IVR_URGENT_HOURS must look like 'Mon-Fri 08:00-18:00; Sat 09:00-13:00', "
                f"got {part!r}"
            )
        days: set[int] = set()
        for item in match["days"].split(","):
            first, _, last = item.partition("-")
            a = _day(first, spec)
            b = _day(last, spec) if last else a
            days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        start = _time(match["start"], spec)
        if start is None:
            raise ConfigError(f"IVR_URGENT_HOURS: a window cannot start at 24:00 in {spec!r}")
        windows.append(Window(frozenset(days), start, _time(match["end"], spec)))
    return windows


def timezone(settings: Settings) -> ZoneInfo:
    name = settings.get("IVR_TIMEZONE") or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"IVR_TIMEZONE must be an IANA time zone, got {name!r}") from None


def check_settings(settings: Settings) -> None:
    """Refuse to start with hours or a time zone that cannot be read."""
    if settings.get("IVR_URGENT_HOURS"):
        parse_hours(settings.get("IVR_URGENT_HOURS") or "")
    timezone(settings)


def dial_number(settings: Settings, moment: datetime | None = None) -> str | None:
    """The staffed number to offer now, or None (none set, or outside the hours)."""
    number = settings.get("IVR_URGENT_DIAL_NUMBER")
    if not number:
        return None
    spec = settings.get("IVR_URGENT_HOURS")
    if not spec:
        return number
    local = (moment or clock()).astimezone(timezone(settings))
    return number if any(w.contains(local) for w in parse_hours(spec)) else None
