"""Cleaners: one module per kind of file, each removing what says who, where or with what.

A cleaner takes the bytes of a file whose type is already known (by its
first bytes, `gateway.cases.media.checked_type`) and returns the same picture,
sound, video or document without its metadata. A file whose metadata cannot
be removed (unreadable, encrypted, truncated, larger than the decoder may
take) raises `CannotClean`: it is refused, never stored as it came.

They run in the worker (`gateway.work.media_fetch`), never in a web request:
decoding is the costly part, and a web process must not grow with it.
"""

from __future__ import annotations

__all__ = ["MAX_PIXELS", "CannotClean"]

# The largest picture taken, in pixels. Phones save 12 to 24 megapixels by
# default (48 to 200 MP sensors merge pixels down to that); 25 MP also takes a
# 24 MP camera's photo. Decoded as RGBA that is 100 MB, and cleaning holds the
# decoded picture and its clean copy: at most about 200 MB, for a moment, in
# the worker (`images`). A "decompression bomb" (a small file that claims more) is
# refused from its header, before any decoding.
MAX_PIXELS = 25_000_000


class CannotClean(ValueError):
    """The file cannot be cleaned of its metadata, so it is not kept."""
