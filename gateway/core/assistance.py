"""The help services directory (`ASSISTANCE_FILE`): where a person who reports can get help.

The first thing a victim needs is help, not a case number: medical care
within 72 hours can prevent HIV and pregnancy. A mission lists its services
in one YAML file, read and checked when the settings are read, so a wrong
file stops start-up with one line naming the line of the file at fault:

    services:
      - name: Hôpital communautaire          # required, at most 60 characters
        kind: medical                         # medical, psychosocial, legal, safety, shelter
        area: Bangui                          # optional; missing or "all" means everywhere
        phone: "+236 7000 0000"               # required: digits, spaces, + - ( )
        hours: "24/7"                         # optional
        languages: [fr, sg]                   # optional, locale codes
        text:                                 # optional, per locale, at most 160 characters
          fr: Soins gratuits et confidentiels.
          en: Free and confidential care.

Nothing in it is about a reporter; the channels read it through
`Directory` to offer the services that fit (medical first).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from gateway.core.config import ConfigError, Settings

log = logging.getLogger(__name__)

SETTING = "ASSISTANCE_FILE"
MAX_NAME = 60
MAX_TEXT = 160
MAX_FIELD = 60
MAX_SERVICES = 200
MAX_FILE_BYTES = 256 * 1024
PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{1,24}$")
LOCALE = re.compile(r"^[a-z]{2,3}$")
EVERYWHERE = "all"
FIELDS = frozenset({"name", "kind", "area", "phone", "hours", "languages", "text"})


class Kind(StrEnum):
    """What a service offers; the order is the order they are offered in (medical first)."""

    MEDICAL = "medical"
    PSYCHOSOCIAL = "psychosocial"
    SAFETY = "safety"
    SHELTER = "shelter"
    LEGAL = "legal"


KIND_ORDER = {kind: index for index, kind in enumerate(Kind)}


@dataclass(frozen=True)
class Service:
    name: str
    kind: Kind
    phone: str
    area: str = ""  # "" = everywhere
    hours: str = ""
    languages: tuple[str, ...] = ()
    text: Mapping[str, str] = field(default_factory=dict)

    def text_for(self, locale: str) -> str:
        """The service's own words in `locale`, else in English, else none."""
        return self.text.get(locale) or self.text.get("en", "")

    @property
    def dial_digits(self) -> str:
        """The number as keys to press ("+236 70" → "+23670"), for reading digit by digit."""
        return "".join(ch for ch in self.phone if ch.isdigit() or ch == "+")

    def serves(self, area: str | None) -> bool:
        return not self.area or not area or self.area.casefold() == area.casefold()


@dataclass(frozen=True)
class Directory:
    """The services of one file, in the order of the file within each kind."""

    services: tuple[Service, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.services)

    def matching(self, area: str | None = None, kinds: tuple[Kind, ...] = ()) -> list[Service]:
        """Services for `area` (those with no area serve every area), medical first."""
        found = [s for s in self.services if s.serves(area) and (not kinds or s.kind in kinds)]
        return sorted(found, key=lambda s: KIND_ORDER[s.kind])

    def first(self, area: str | None = None) -> Service | None:
        """The one line to give when there is room for one: the first medical service."""
        found = self.matching(area)
        return found[0] if found else None

    def areas(self) -> list[str]:
        return sorted({s.area for s in self.services if s.area}, key=str.casefold)

    def named(self, name: str) -> Service | None:
        return next((s for s in self.services if s.name == name), None)


EMPTY = Directory()


def offered(settings: Settings, where: str) -> Directory:
    """The directory to offer now: empty, and said in the log, if the file broke since start-up.

    Start-up refuses a bad file (gateway.core.runtime); one edited badly
    while the gateway runs must not fail the job that files a report, the
    page that shows a receipt or a slip, or a call: they go on without help.
    """
    try:
        return directory(settings)
    except ConfigError as exc:
        log.error("%s: help services not read: %s", where, exc)
        return EMPTY


def directory(settings: Settings) -> Directory:
    """The directory named by ASSISTANCE_FILE in `settings` (empty when it is not set).

    Raises ConfigError (one line: file, line, what is wrong) for a file that
    cannot be used; re-read only when the file changes.
    """
    return check_file(settings.get(SETTING))


def check_file(path: str | None) -> Directory:
    """The directory in the file at `path` (empty for none); ConfigError as `directory` says.

    For a command that must stop before it starts anything (`demo`, `serve`).
    """
    path = (path or "").strip()
    if not path:
        return EMPTY
    try:
        stat = Path(path).stat()
    except OSError as exc:
        raise ConfigError(f"{SETTING} {path} cannot be read: {exc.strerror}") from None
    return _load(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _load(path: str, _mtime_ns: int, size: int) -> Directory:
    if size > MAX_FILE_BYTES:
        raise ConfigError(f"{SETTING} {path} is over {MAX_FILE_BYTES // 1024} KiB")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{SETTING} {path} cannot be read: {exc}") from None
    return parse(text, path)


def parse(text: str, source: str = SETTING) -> Directory:
    """A directory from YAML text; ConfigError names `source` and the line at fault."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError(f"{source} line {line}: not valid YAML ({exc.problem})") from None
    if root is None:
        return EMPTY
    entries = _top(root, source)
    if len(entries.value) > MAX_SERVICES:
        raise _error(source, entries, f"more than {MAX_SERVICES} services")
    return Directory(tuple(_service(node, source) for node in entries.value))


def _error(source: str, node: yaml.Node, problem: str) -> ConfigError:
    return ConfigError(f"{source} line {node.start_mark.line + 1}: {problem}")


def _top(root: yaml.Node, source: str) -> yaml.SequenceNode:
    if not isinstance(root, yaml.MappingNode):
        raise _error(source, root, "expected a mapping with a 'services' list")
    for key, value in root.value:
        if key.value == "services":
            if not isinstance(value, yaml.SequenceNode):
                raise _error(source, value, "'services' must be a list")
            return value
        raise _error(source, key, f"unknown key {key.value!r} (expected 'services')")
    raise _error(source, root, "no 'services' list")


def _service(node: yaml.Node, source: str) -> Service:
    if not isinstance(node, yaml.MappingNode):
        raise _error(source, node, "each service must be a mapping (name, kind, phone, ...)")
    values: dict[str, Any] = {}
    for key, value in node.value:
        if key.value not in FIELDS:
            raise _error(source, key, f"unknown field {key.value!r}")
        values[key.value] = (key, value)
    for required in ("name", "kind", "phone"):
        if required not in values:
            raise _error(source, node, f"service without {required!r}")
    name = _scalar(source, values["name"][1], "name", MAX_NAME)
    kind_text = _scalar(source, values["kind"][1], "kind", MAX_FIELD)
    if kind_text not in Kind.__members__.values():
        known = ", ".join(Kind)
        raise _error(source, values["kind"][1], f"kind {kind_text!r} is not one of {known}")
    phone = _scalar(source, values["phone"][1], "phone", MAX_FIELD)
    if not PHONE.match(phone):
        raise _error(source, values["phone"][1], f"phone {phone!r} is not a phone number")
    optional = {
        name: _scalar(source, values[name][1], name, MAX_FIELD)
        for name in ("area", "hours")
        if name in values
    }
    if optional.get("area", "").casefold() == EVERYWHERE:
        optional["area"] = ""  # docs/contract.md: "all" = everywhere, as a missing area
    return Service(
        name=name,
        kind=Kind(kind_text),
        phone=phone,
        languages=_languages(source, values.get("languages")),
        text=_texts(source, values.get("text")),
        **optional,
    )


def _scalar(source: str, node: yaml.Node, name: str, limit: int) -> str:
    if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
        raise _error(source, node, f"{name} must be a non-empty text")
    value = " ".join(str(node.value).split())
    if len(value) > limit:
        raise _error(source, node, f"{name} is longer than {limit} characters")
    return value


def _languages(source: str, entry: tuple[yaml.Node, yaml.Node] | None) -> tuple[str, ...]:
    if entry is None:
        return ()
    node = entry[1]
    if not isinstance(node, yaml.SequenceNode):
        raise _error(source, node, "languages must be a list of locale codes, e.g. [fr, sg]")
    codes = []
    for item in node.value:
        code = _scalar(source, item, "a language", 8)
        if not LOCALE.match(code):
            raise _error(source, item, f"language {code!r} is not a locale code like 'fr'")
        codes.append(code)
    return tuple(codes)


def _texts(source: str, entry: tuple[yaml.Node, yaml.Node] | None) -> dict[str, str]:
    if entry is None:
        return {}
    node = entry[1]
    if not isinstance(node, yaml.MappingNode):
        raise _error(source, node, "text must map locale codes to a sentence, e.g. fr: ...")
    texts = {}
    for key, value in node.value:
        code = str(key.value)
        if not LOCALE.match(code):
            raise _error(source, key, f"text for {code!r}: not a locale code like 'fr'")
        texts[code] = _scalar(source, value, f"text {code}", MAX_TEXT)
    return texts
