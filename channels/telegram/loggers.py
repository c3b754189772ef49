"""The loggers that would print the bot token, chat ids or texts, held at WARNING.

Called by the channel package (entry.py) and again by api.py, so they are
quiet before python-telegram-bot is loaded, whichever module loads it first.
"""

from __future__ import annotations

import logging

QUIET_LOGGERS = ("httpx", "httpcore", "telegram")


def quiet_loggers() -> None:
    """Keep URLs (with the token) and request parameters (chat ids, texts) out of logs."""
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:  # NOTSET (0) inherits the root's level
            logger.setLevel(logging.WARNING)
