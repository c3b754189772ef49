"""Property-based tests of the parsers every hostile input reaches first."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.cases.numbering import CaseNumber, damm_digit, parse_case_number
from gateway.conversation.keywords import parse_command, parse_word
from gateway.conversation.segments import measure
from gateway.core.privacy import normalise_address, redact
from gateway.forwarders.webhook import signed_headers
from tests.test_hostile_input import changed, count_rows

any_text = st.text(max_size=400)


@given(any_text)
def test_keyword_parsing_never_fails(text: str) -> None:
    parsed = parse_command(text)
    if parsed is not None:
        assert parsed.rest in text or parsed.rest == ""
    parse_word(text)


@given(st.integers(1900, 2999), st.integers(0, 10**9))
def test_every_case_number_parses_back(year: int, sequence: int) -> None:
    number = CaseNumber(year, sequence)
    assert parse_case_number(number.display()) == number
    assert parse_case_number(number.digits) == number
    assert damm_digit(number.digits) == 0


@given(any_text)
def test_case_number_parser_never_fails_and_accepts_only_valid_check_digits(text: str) -> None:
    number = parse_case_number(text)
    if number is not None:
        assert damm_digit(number.digits) == 0


@given(any_text)
def test_segments_are_counted_for_any_text(text: str) -> None:
    segments = measure(text)
    assert segments.count >= 1
    limit = 160 if segments.encoding == "GSM-7" else 70
    assert (segments.units <= limit) == (segments.count == 1)


@given(any_text)
def test_address_normalisation_never_fails(text: str) -> None:
    normalise_address(text)


@given(st.from_regex(r"\+?[1-9][0-9]{7,13}", fullmatch=True), any_text)
def test_redaction_removes_any_phone_number(number: str, around: str) -> None:
    cleaned = redact(f"{around} {number} {around}")
    assert number not in cleaned


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(body=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())))
def test_tracker_callback_never_answers_500(client, gw, tracker, body: bytes) -> None:  # type: ignore[no-untyped-def]
    """Signed or not, junk gets 400/403/404 and changes nothing (no case exists to change)."""
    for headers in (signed_headers(tracker.secret, body, "k"), {}):
        before = count_rows(gw)
        response = client.post("/tracker/callback", data=body, headers=headers)
        assert response.status_code in (400, 403, 404)
        assert response.is_json and response.get_json()["ok"] is False
        assert changed(before, count_rows(gw)) == {}
