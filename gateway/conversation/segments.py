"""How many SMS segments a text costs, known before it is sent.

GSM-7 (the default alphabet) fits 160 characters in one segment and 153 per
segment when split; characters of its extension table count twice. Any
other character forces UCS-2: 70 in one segment, 67 per segment when split
(counted in UTF-16 code units, so an emoji counts twice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets or UTF-16 code units
    count: int

    @property
    def single(self) -> bool:
        return self.count == 1


def measure(text: str) -> Segments:
    """The encoding a phone would use for `text` and the segments it takes."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        single, multi = 160, 153
        encoding = "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
        encoding = "UCS-2"
    count = 1 if units <= single else math.ceil(units / multi)
    return Segments(encoding, units, max(count, 1))
