"""Small counts hidden: a statistic of 1 to 4 cases is shown as "<5" (docs/exports.md).

In a small mission, "one report from that area this week" can point to the
person who made it. So the statistics page, its charts and its CSV show a
count from 1 to 4 as "<5"; 0 stays 0 (it points at no one) and 5 or more is
exact. Medians and durations are not counts and are shown as they are. The
rule hides each small cell; it does not stop a determined reader from
subtracting one exact figure from another (docs/exports.md says so).
"""

from __future__ import annotations

THRESHOLD = 5
SMALL = "<5"


def shown(count: float) -> int | str:
    """A count as it may be shown: "<5" for 1 to 4, the number otherwise."""
    return SMALL if 0 < count < THRESHOLD else int(count)
