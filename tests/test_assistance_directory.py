"""The help services directory: what a good file gives, and one line naming what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.core import assistance
from gateway.core.assistance import Kind
from gateway.core.config import ConfigError, Settings

FIXTURE = Path(__file__).parent / "fixtures" / "assistance" / "services.yaml"


def settings(tmp_path: Path, **env: str) -> Settings:
    keys = {
        "GATEWAY_SECRET_KEY": "s" * 32,
        "GATEWAY_DATA_KEY": "x" * 43 + "=",
        "GATEWAY_PSEUDONYM_KEY": "p" * 32,
    }
    return Settings.from_mapping({**keys, **env}, tmp_path)


def test_a_good_file_lists_the_services_medical_first(tmp_path: Path) -> None:
    directory = assistance.directory(settings(tmp_path, ASSISTANCE_FILE=str(FIXTURE)))
    assert [s.name for s in directory.matching()] == [
        "District Clinic",
        "Counselling Centre",
        "Legal Aid Desk",
    ]
    assert [s.name for s in directory.matching("south")] == ["District Clinic", "Legal Aid Desk"]
    first = directory.first("North")
    assert first is not None and first.kind is Kind.MEDICAL
    assert first.dial_digits == "+0005550101"
    assert first.text_for("fr") == "Soins gratuits et confidentiels."
    assert first.text_for("sw") == "Free and confidential care."  # English when none given
    assert directory.areas() == ["North", "South"]


def test_no_file_is_an_empty_directory(tmp_path: Path) -> None:
    directory = assistance.directory(settings(tmp_path))
    assert not directory and directory.first() is None and directory.matching() == []


LONG_TEXT = "services:\n  - name: A\n    kind: medical\n    phone: '12'\n    text: {en: %s}\n"
BAD = [
    ("services:\n  - name: A\n    kind: dentist\n    phone: '1234'\n", 3, "kind 'dentist'"),
    ("services:\n  - name: A\n    kind: medical\n", 2, "without 'phone'"),
    ("services:\n  - name: A\n    kind: medical\n    phone: call us\n", 4, "not a phone number"),
    ("services:\n  - name: A\n    kind: medical\n    phone: '12'\n    fax: '1'\n", 5, "'fax'"),
    ("services:\n  - name: [A]\n    kind: medical\n    phone: '12'\n", 2, "name must be"),
    ("services: [\n", 2, "not valid YAML"),
    ("servces: []\n", 1, "unknown key 'servces'"),
    ("- a\n", 1, "expected a mapping"),
    ("services:\n  - name: A\n    kind: medical\n    phone: '12'\n    text: {xx1: hi}\n", 5, "xx1"),
    ("services:\n  - name: A\n    kind: medical\n    phone: '12'\n    languages: fr\n", 5, "list"),
    (LONG_TEXT % ("a" * 161), 5, "longer than 160"),
]


@pytest.mark.parametrize(("text", "line", "words"), BAD)
def test_a_wrong_file_stops_start_up_with_one_line_naming_the_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = tmp_path / "services.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        assistance.directory(settings(tmp_path, ASSISTANCE_FILE=str(path)))
    message = str(caught.value)
    assert "\n" not in message and f"{path} line {line}:" in message and words in message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ASSISTANCE_FILE .*missing.yaml cannot be read"):
        assistance.directory(settings(tmp_path, ASSISTANCE_FILE=str(tmp_path / "missing.yaml")))


def test_the_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "services.yaml"
    path.write_text("services:\n  - {name: A, kind: medical, phone: '12'}\n", encoding="utf-8")
    env = settings(tmp_path, ASSISTANCE_FILE=str(path))
    assert [s.name for s in assistance.directory(env).matching()] == ["A"]
    path.write_text("services:\n  - {name: Bee, kind: legal, phone: '13'}\n", encoding="utf-8")
    assert [s.name for s in assistance.directory(env).matching()] == ["Bee"]
