"""Fetching a reporter's voice note, photo or document from Telegram, in the worker.

A media reference is `tg-file:<file_id>`: never a URL, because Telegram's
download URL (`/file/bot<token>/<file_path>`) carries the bot token. The
fetcher resolves the file with getFile through python-telegram-bot and
downloads it from TELEGRAM_API_BASE_URL only (gateway.core.provider_fetch; the
token is in the path, never in a header), refusing anything over Telegram's
20 MB bot download limit or GATEWAY_MAX_UPLOAD_BYTES (`MediaTooLarge`: given
up, the report goes on without it).

See https://core.telegram.org/bots/api#getfile
"""

from __future__ import annotations

from urllib.parse import quote

from telegram import Bot
from telegram.error import BadRequest

from gateway.core.config import Settings
from gateway.core.provider_fetch import ForeignMediaUrl, ProviderOrigin
from gateway.work.media_fetch import MediaTooLarge

from .api import api_base_url, call, token
from .updates import DOWNLOAD_LIMIT, FILE_PREFIX


class UnknownFile(LookupError):
    """Telegram does not know the file (a bad or expired file_id): not retried."""


def fetch(settings: Settings, url: str, size_limit: int) -> bytes:
    """media_fetch.Fetcher for provider "telegram".

    getFile goes through python-telegram-bot; the download itself goes
    through `ProviderOrigin` to TELEGRAM_API_BASE_URL only: a `file_path`
    that is not a plain relative path there (an absolute path, which
    python-telegram-bot would read from this machine's disk, or `..`) is
    refused (`ForeignMediaUrl`).
    """
    if not url.startswith(FILE_PREFIX):
        raise UnknownFile("not a Telegram file reference")
    file_id = url[len(FILE_PREFIX) :]
    limit = min(size_limit, DOWNLOAD_LIMIT)

    async def resolve(bot: Bot) -> str:
        try:
            file = await bot.get_file(file_id)
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                raise MediaTooLarge() from None
            raise UnknownFile("telegram refused the file") from None
        if file.file_size is not None and file.file_size > limit:
            raise MediaTooLarge()
        if not file.file_path:
            raise UnknownFile("telegram gave no file path")
        return file.file_path

    prefix = f"{api_base_url(settings)}/file/bot{token(settings)}/"
    location = call(settings, resolve)
    relative = location[len(prefix) :] if location.startswith(prefix) else ""
    parts = relative.split("/")
    if not relative or relative.startswith("/") or ".." in parts or "" in parts:
        raise ForeignMediaUrl("telegram file path outside the Bot API's file root")
    origin = ProviderOrigin(api_base_url(settings))
    return origin.fetch(prefix + quote(relative), limit)
