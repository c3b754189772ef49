"""The hotline's recorded prompts, per language: the words to say, upload, listen, delete.

For administrators only. A speaker of Sango or Lingala records each prompt
from the words shown (the recording script, the same as `ivr prompts
script` writes) and the administrator uploads the files here, one form per
prompt, without JavaScript; the hotline plays an uploaded recording from
its next step on (gateway/cases/voice_prompts.py). The prompts and their
packaged files come from the channel that plays them
(`gateway.core.providers.Channel.voice_prompts`): the console names no
channel.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, abort, g, redirect, request, url_for

from gateway.cases import voice_prompts
from gateway.cases.voice_prompts import PromptRefused, StoredPrompt
from gateway.console import security
from gateway.console.pages import blueprint, render, t
from gateway.console.security import allow
from gateway.core import i18n
from gateway.core.i18n import _
from gateway.core.providers import PromptCatalog, PromptLine, installed
from gateway.core.states import Role

REFUSED = {
    400: _("This file is not a WAV or MP3 recording. Nothing was changed."),
    413: _("This file is larger than %(size)s MiB. Nothing was changed."),
}


@dataclass(frozen=True)
class PromptRow:
    """One prompt on the page: the words, and what plays today (uploaded, file or speech)."""

    line: PromptLine
    uploaded: StoredPrompt | None

    @property
    def recorded(self) -> bool:
        """Said by a person: uploaded, or a packaged file that is not machine-made."""
        if self.uploaded is not None:
            return True
        return self.line.file_url is not None and not self.placeholder

    @property
    def placeholder(self) -> bool:
        return self.uploaded is None and self.line.placeholder

    @property
    def listen_url(self) -> str | None:
        if self.uploaded is not None:
            return (
                f"/ivr/audio/{self.uploaded.locale}/{self.line.prompt_id}"
                f"{self.uploaded.extension}?v={self.uploaded.version}"
            )
        return self.line.file_url


def _catalog() -> PromptCatalog:
    catalog = installed().voice_prompts()
    if catalog is None:
        abort(404)
    return catalog


def _locales() -> list[str]:
    return i18n.configured_locales(security.gateway().settings.locales)


def rows(catalog: PromptCatalog, locale: str) -> list[PromptRow]:
    gw = security.gateway()
    uploaded = voice_prompts.listing(gw).get(locale, {})
    return [PromptRow(line, uploaded.get(line.prompt_id)) for line in catalog(gw.settings, locale)]


@blueprint.get("/voice-prompts")
@allow(Role.ADMIN)
def voice_prompts_overview() -> Response:
    """Every language with its progress: recorded / total."""
    catalog = _catalog()
    progress = []
    for locale in _locales():
        found = rows(catalog, locale)
        done = sum(r.recorded for r in found)
        progress.append((locale, i18n.display_name(locale), done, len(found)))
    return render("voice_prompts.html", progress=progress)


def _language_page(locale: str, status: int = 200, error: str | None = None) -> Response:
    found = rows(_catalog(), locale)
    return render(
        "voice_prompts_language.html",
        status=status,
        locale_code=locale,
        language=i18n.display_name(locale),
        rows=found,
        recorded=sum(r.recorded for r in found),
        error=error,
        ok=request.args.get("ok"),
        max_mib=voice_prompts.MAX_BYTES // (1024 * 1024),
    )


def _known(locale: str, prompt_id: str | None = None) -> None:
    if locale not in _locales():
        abort(404)
    if prompt_id is not None and prompt_id not in {
        line.prompt_id for line in _catalog()(security.gateway().settings, locale)
    }:
        abort(404)


@blueprint.get("/voice-prompts/<locale>")
@allow(Role.ADMIN)
def voice_prompts_language(locale: str) -> Response:
    _known(locale)
    return _language_page(locale)


@blueprint.post("/voice-prompts/<locale>/<prompt_id>")
@allow(Role.ADMIN)
def voice_prompt_upload(locale: str, prompt_id: str) -> Response:
    """One recording, multipart; 400 for a file that is not audio, 413 over the limit."""
    _known(locale, prompt_id)
    upload = request.files.get("recording")
    data = upload.read(voice_prompts.MAX_BYTES + 1) if upload is not None else b""
    if not data:
        return _language_page(locale, 400, t(_("Choose a recording file first.")))
    try:
        voice_prompts.put(security.gateway(), locale, prompt_id, data, g.console_user.username)
    except PromptRefused as refused:
        message = t(REFUSED[refused.status], size=voice_prompts.MAX_BYTES // (1024 * 1024))
        return _language_page(locale, refused.status, message)
    target = url_for("console.voice_prompts_language", locale=locale, ok=prompt_id)
    return redirect(f"{target}#{prompt_id}")  # type: ignore[return-value]


@blueprint.post("/voice-prompts/<locale>/<prompt_id>/delete")
@allow(Role.ADMIN)
def voice_prompt_delete(locale: str, prompt_id: str) -> Response:
    """The uploaded recording goes; the hotline plays the file, or speaks, again."""
    _known(locale, prompt_id)
    voice_prompts.delete(security.gateway(), locale, prompt_id, g.console_user.username)
    target = url_for("console.voice_prompts_language", locale=locale, ok=prompt_id)
    return redirect(f"{target}#{prompt_id}")  # type: ignore[return-value]
