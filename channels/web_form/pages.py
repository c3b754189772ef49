"""Rendering the form's pages: one small Jinja environment, gettext per request.

The channel keeps its own Jinja environment (not the app's) so that its
i18n extension, its whitespace trimming and its inline style stay its own
business. Translations come from `gateway.core.i18n` (the `.po` files, read by
Babel); the gettext callables read the request's locale from `flask.g`.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from flask import Response, current_app, g, request, url_for
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from gateway.core import i18n
from gateway.core.runtime import Gateway

HERE = Path(__file__).parent
CSS = (HERE / "style.css").read_text(encoding="utf-8").strip()
# The Content-Security-Policy allows exactly this inline style and nothing else.
CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
DEFAULT_QUICK_EXIT = "https://www.bbc.com/weather"


def locale() -> str:
    """The locale this request was answered in (set by `choose_locale`)."""
    return getattr(g, "web_locale", i18n.DEFAULT_LOCALE)


def t(message: str, **values: object) -> str:
    """`message` in the request's language (for strings built in Python)."""
    return i18n.gettext(locale(), message, **values)


def _gettext(message: str) -> str:
    return i18n.translations(locale()).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.translations(locale()).ngettext(singular, plural, n)


env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
env.policies["ext.i18n.trimmed"] = True  # as babel.cfg extracts them
env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
env.globals["url_for"] = url_for
env.filters["local_date"] = lambda value: i18n.format_date(locale(), value)


def gateway() -> Gateway:
    return current_app.extensions["gateway"]  # type: ignore[no-any-return]


def offered_locales() -> list[str]:
    return i18n.configured_locales(gateway().settings.locales)


def choose_locale() -> str:
    """`lang` from the posted form or the query, else Accept-Language, else the default.

    The choice travels in links, form actions and hidden fields, never in a
    cookie. The query's choice is set first, so that a body too large to
    parse (413) is still answered in the reporter's language.
    """
    offered = offered_locales()

    def pick(asked: str | None) -> str:
        if asked in offered:
            return str(asked)
        return request.accept_languages.best_match(offered) or offered[0]

    g.web_locale = pick(request.args.get("lang"))
    if request.method == "POST":
        g.web_locale = pick(request.form.get("lang") or request.args.get("lang"))
    return str(g.web_locale)


def quick_exit_url() -> str:
    return gateway().settings.get("GATEWAY_QUICK_EXIT_URL") or DEFAULT_QUICK_EXIT


def render(template: str, status: int = 200, **context: Any) -> Response:
    """A page of this channel in the request's language."""
    current = locale()
    page = env.get_template(template).render(
        css=Markup(CSS),  # noqa: S704 - our own file, hashed into the CSP
        locale=current,
        dir="rtl" if i18n.is_rtl(current) else "ltr",
        languages=[(code, i18n.display_name(code)) for code in offered_locales()],
        quick_exit=quick_exit_url(),
        **context,
    )
    return Response(page, status=status, mimetype="text/html")
