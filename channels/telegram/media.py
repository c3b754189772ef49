"""Fetching a reporter's voice note, photo or document from Telegram, in the worker.

A media reference is `tg-file:<file_id>`: never a URL, because Telegram's
download URL (`/file/bot<token>/<file_path>`) carries the bot token. The
fetcher resolves the file with getFile and downloads it through
python-telegram-bot, refusing anything over Telegram's 20 MB bot download
limit or GATEWAY_MAX_UPLOAD_BYTES (`MediaTooLarge`: given up, the report
goes on without it).

See https://core.telegram.org/bots/api#getfile
"""

from __future__ import annotations

from telegram import Bot
from telegram.error import BadRequest

from gateway.config import Settings
from gateway.media_fetch import MediaTooLarge

from .api import call
from .updates import DOWNLOAD_LIMIT, FILE_PREFIX


class UnknownFile(LookupError):
    """Telegram does not know the file (a bad or expired file_id): not retried."""


def fetch(settings: Settings, url: str, size_limit: int) -> bytes:
    """media_fetch.Fetcher for provider "telegram"."""
    if not url.startswith(FILE_PREFIX):
        raise UnknownFile("not a Telegram file reference")
    file_id = url[len(FILE_PREFIX) :]
    limit = min(size_limit, DOWNLOAD_LIMIT)

    async def download(bot: Bot) -> bytes:
        try:
            file = await bot.get_file(file_id)
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                raise MediaTooLarge() from None
            raise UnknownFile("telegram refused the file") from None
        if file.file_size is not None and file.file_size > limit:
            raise MediaTooLarge()
        data = bytes(await file.download_as_bytearray())
        if len(data) > limit:
            raise MediaTooLarge()
        return data

    return call(settings, download, read_timeout=60.0)
