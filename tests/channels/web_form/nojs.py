"""A browser without JavaScript, for tests: read a page's forms, fill them, post them.

It sends exactly what a plain HTML form sends (hidden fields kept, the
checked radio, the pressed button, files as multipart) and the headers a
modern browser adds to a same-origin POST from a page with
`Referrer-Policy: no-referrer` (`Origin: null`, `Sec-Fetch-Site: same-origin`).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

from werkzeug.datastructures import MultiDict


@dataclass
class Field:
    tag: str
    name: str
    type: str = "text"
    value: str = ""
    checked: bool = False


@dataclass
class Form:
    action: str
    method: str
    enctype: str
    fields: list[Field] = field(default_factory=list)
    files: dict[str, list[tuple[bytes, str]]] = field(default_factory=dict)

    def names(self) -> set[str]:
        return {f.name for f in self.fields}

    def get(self, name: str) -> str:
        return next(f.value for f in self.fields if f.name == name and f.type != "radio")

    def fill(self, **values: str) -> Form:
        """Type into text fields and textareas (the name must exist on the page)."""
        for name, value in values.items():
            matches = [
                f for f in self.fields if f.name == name and f.type not in ("radio", "submit")
            ]
            assert matches, f"no field {name!r} in the form"
            matches[0].value = value
        return self

    def choose(self, name: str, value: str) -> Form:
        """Tick one radio button of a group."""
        radios = [f for f in self.fields if f.name == name and f.type == "radio"]
        assert any(f.value == value for f in radios), f"no choice {value!r} for {name!r}"
        for radio in radios:
            radio.checked = radio.value == value
        return self

    def attach(self, name: str, data: bytes, filename: str) -> Form:
        assert any(f.name == name and f.type == "file" for f in self.fields), name
        self.files.setdefault(name, []).append((data, filename))
        return self

    def data(self, press: tuple[str, str] | None = None) -> MultiDict[str, object]:
        out: MultiDict[str, object] = MultiDict()
        for f in self.fields:
            if f.type in ("submit", "file") or not f.name:
                continue
            if f.type in ("radio", "checkbox") and not f.checked:
                continue
            out.add(f.name, f.value)
        if press:
            out.add(*press)
        for name, items in self.files.items():
            for content, filename in items:
                out.add(name, (io.BytesIO(content), filename))
        return out


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._textarea: Field | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                Form(
                    a.get("action", ""),
                    a.get("method", "get").lower(),
                    a.get("enctype", "application/x-www-form-urlencoded"),
                )
            )
        elif not self.forms:
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            self.forms[-1].fields.append(
                Field("input", a.get("name", ""), kind, a.get("value", ""), "checked" in a)
            )
        elif tag == "textarea":
            self._textarea = Field("textarea", a.get("name", ""), "textarea")
            self.forms[-1].fields.append(self._textarea)
        elif tag == "button":
            self.forms[-1].fields.append(
                Field("button", a.get("name", ""), "submit", a.get("value", ""))
            )

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data


def forms(html: str) -> list[Form]:
    parser = _Parser()
    parser.feed(html)
    return parser.forms


def main_form(html: str) -> Form:
    """The page's form with a submit button that has no name (not the language list)."""
    found = [f for f in forms(html) if any(x.type == "submit" and not x.name for x in f.fields)]
    assert len(found) == 1, f"expected one main form, found {len(found)}"
    return found[0]


class Browser:
    """Drives a Flask test client like a no-JS browser (no cookies, same-origin posts)."""

    HEADERS = {"Sec-Fetch-Site": "same-origin", "Origin": "null"}

    def __init__(self, client, accept_language: str = "en") -> None:  # type: ignore[no-untyped-def]
        self.client = client
        self.accept_language = accept_language
        self.url = "/"

    def get(self, url: str):  # type: ignore[no-untyped-def]
        self.url = url
        return self.client.get(url, headers={"Accept-Language": self.accept_language})

    def submit(self, form: Form, press: tuple[str, str] | None = None, **headers: str):  # type: ignore[no-untyped-def]
        target = urljoin("http://localhost" + self.url, form.action or self.url)
        path = re.sub(r"^http://localhost", "", target)
        self.url = path
        multipart = form.enctype == "multipart/form-data"
        return self.client.post(
            path,
            data=form.data(press),
            content_type="multipart/form-data" if multipart else None,
            headers={"Accept-Language": self.accept_language, **self.HEADERS, **headers},
        )
