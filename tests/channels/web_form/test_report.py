"""`/report` as a browser without JavaScript uses it: filing, forwarding, refusals."""

from __future__ import annotations

import dataclasses
import io
import re
from urllib.parse import urlsplit

import pytest
from PIL import Image
from sqlalchemy import select

from channels.web_form import guard
from gateway.cases import mailbox
from gateway.core.models import Attachment, Case
from gateway.work import reporter as work_reporter
from tests.channels.web_form.conftest import count_rows, receipt_of, send_report, set_raw
from tests.channels.web_form.nojs import main_form
from tests.support.jobs import run_jobs
from tests.support.media_samples import ogg_opus_with_comments, pdf_with_metadata

STATEMENT = "A man from the camp office asked my sister for sex for food"


def jpeg_with_gps() -> bytes:
    """A JPEG with EXIF camera data and a GPS position, as a phone writes it."""
    image = Image.new("RGB", (32, 24), (180, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model X"  # Model
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (4.0, 19.0, 30.0)  # latitude
    gps[3], gps[4] = "E", (15.0, 18.0, 45.0)  # longitude
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825), "fixture must carry GPS"
    return data


def test_a_report_is_filed_forwarded_and_the_receipt_shows_number_and_pin(
    gw, browser, tracker
) -> None:  # type: ignore[no-untyped-def]
    response = send_report(
        browser,
        narrative=STATEMENT,
        category="sexual_exploitation",
        affected="someone_else",
        danger="yes",
        location="Near the water point",
        when="Last Tuesday evening",
        follow_up="yes",
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    number, pin = receipt_of(page)
    assert re.fullmatch(r"\d{4}-\d{6}-\d", number) and re.fullmatch(r"\d{6}", pin)
    assert f"STATUS {number} {pin}" in page
    assert STATEMENT not in page and "water point" not in page  # nothing of the report repeated

    run_jobs(gw)
    [received] = tracker.requests
    assert received.signature_ok and received.schema_error is None
    body = received.body
    assert body["case_number"] == number
    assert (body["channel"], body["language"], body["category"]) == (
        "web",
        "en",
        "sexual_exploitation",
    )
    assert body["urgency"] == {"danger_now": True, "child_involved": False}
    assert body["narrative"] == STATEMENT
    assert (body["location"], body["incident_time"]) == (
        "Near the water point",
        "Last Tuesday evening",
    )
    assert body["attachments"] == []
    view = mailbox.check_status(gw, number, pin, client=None)
    assert view.status == "received"


@pytest.mark.parametrize(
    ("choices", "category", "affected", "danger", "follow_up"),
    [
        ({}, None, None, None, False),
        ({"category": "sexual_abuse", "affected": "child"}, "sexual_abuse", "child", None, False),
        (
            {"category": "other_misconduct", "affected": "self", "danger": "no"},
            "other_misconduct",
            "self",
            False,
            False,
        ),
        ({"follow_up": "no", "danger": "yes"}, None, None, True, False),
    ],
)
def test_each_choice_maps_to_the_report(
    gw, browser, choices, category, affected, danger, follow_up
) -> None:  # type: ignore[no-untyped-def]
    assert send_report(browser, narrative="x", **choices).status_code == 200
    with gw.sessions() as session:
        case = session.scalars(select(Case)).one()
        content = gw.cipher.decrypt_json(case.report.content_enc)
    assert (case.category, case.affected, content["danger_now"], case.follow_up) == (
        category,
        affected,
        danger,
        follow_up,
    )
    assert case.danger_now is bool(danger) and case.child_involved is (affected == "child")


@pytest.mark.parametrize(
    ("choices", "personnel", "age_group"),
    [
        ({}, None, None),  # not answered: not asked, as far as the case knows
        ({"personnel_category": "police"}, "police", None),
        ({"personnel_category": "civilian_staff", "affected": "self"}, "civilian_staff", None),
        ({"personnel_category": "unknown"}, "unknown", None),  # "I am not sure"
        ({"personnel_category": "military", "affected": "child"}, "military", "minor"),
        ({"affected": "someone_else"}, None, None),  # no adult answer is made up
    ],
)
def test_who_did_it_reaches_the_case(gw, browser, choices, personnel, age_group) -> None:  # type: ignore[no-untyped-def]
    """The one allegation question of the form; a child among those harmed is a minor."""
    assert send_report(browser, narrative="x", **choices).status_code == 200
    with gw.sessions() as session:
        case = session.scalars(select(Case)).one()
    assert (case.personnel_category, case.victim_age_group) == (personnel, age_group)


@pytest.mark.parametrize(
    ("typed", "count"),
    [("3", 3), (" 12 ", 12), ("999", 999), ("", None), ("0", None), ("1000", None)]
    + [("two", None), ("-2", None), ("2.5", None), ("\u00b2", None), ("9" * 400, None)],
)
def test_how_many_people_reaches_the_case_or_is_left_out(gw, browser, typed, count) -> None:  # type: ignore[no-untyped-def]
    """A number from 1 to 999; anything else is not an answer, and the report is filed."""
    assert send_report(browser, narrative="x", victims=typed).status_code == 200
    with gw.sessions() as session:
        case = session.scalars(select(Case)).one()
    assert case.victims_count == count


@pytest.mark.parametrize("value", ["un_volunteer", "soldier", "x" * 500, "Police", ""])
def test_a_who_did_it_the_form_does_not_offer_files_the_report_without_it(
    gw, browser, value
) -> None:  # type: ignore[no-untyped-def]
    """An odd browser's value counts as not answered: the report is filed all the same."""
    form = main_form(browser.get("/report?lang=en").get_data(as_text=True)).fill(narrative="x")
    form.choose("personnel_category", "police")
    for radio in form.fields:
        if radio.name == "personnel_category" and radio.checked:
            radio.value = value
    assert browser.submit(form).status_code == 200
    with gw.sessions() as session:
        case = session.scalars(select(Case)).one()
    assert case.personnel_category is None


def test_photo_loses_exif_and_gps_before_it_is_stored(gw, browser, tracker, client) -> None:  # type: ignore[no-untyped-def]
    form = main_form(browser.get("/report").get_data(as_text=True))
    form.fill(narrative="photo of the vehicle").attach("files", jpeg_with_gps(), "IMG_0001.jpg")
    form.attach("files", pdf_with_metadata(), "letter.pdf")
    assert browser.submit(form).status_code == 200
    assert count_rows(gw)["attachments"] == 0  # nothing decoded in the request
    run_jobs(gw)  # the worker cleans the files, then forwards the case

    with gw.sessions() as session:
        stored = session.scalars(select(Attachment).order_by(Attachment.id)).all()
        kinds = [a.content_type for a in stored]
        photo = gw.cipher.decrypt(stored[0].data_enc)
    assert kinds == ["image/jpeg", "application/pdf"]
    assert b"Exif" not in photo and b"PhoneMaker" not in photo
    assert not Image.open(io.BytesIO(photo)).getexif()

    [received] = tracker.requests
    link = received.body["attachments"][0]["url"]
    downloaded = client.get(urlsplit(link).path)  # the link the case tracker follows
    assert downloaded.status_code == 200 and downloaded.data == photo


def test_a_report_of_only_a_file_is_taken(gw, browser) -> None:  # type: ignore[no-untyped-def]
    form = main_form(browser.get("/report").get_data(as_text=True))
    form.attach("files", ogg_opus_with_comments(), "voice.ogg")
    assert browser.submit(form).status_code == 200
    run_jobs(gw)
    assert count_rows(gw)["attachments"] == 1


def test_the_same_form_sent_twice_files_one_case_and_shows_the_same_receipt(gw, browser) -> None:  # type: ignore[no-untyped-def]
    form = main_form(browser.get("/report").get_data(as_text=True)).fill(narrative=STATEMENT)
    first = browser.submit(form)
    again = browser.submit(form)  # a double tap, or "resend" after the answer was lost on 2G
    assert receipt_of(first.get_data(as_text=True)) == receipt_of(again.get_data(as_text=True))
    assert count_rows(gw)["cases"] == 1


def test_a_database_failure_keeps_the_text_and_says_nothing_was_saved(
    gw, browser, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(work_reporter, "submit_report", down)
    response = send_report(browser, narrative=STATEMENT)
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert STATEMENT in page and "could not save" in page
    monkeypatch.undo()
    form = main_form(page)  # the reporter presses Send again and it goes through
    assert browser.submit(form).status_code == 200
    assert count_rows(gw)["cases"] == 1


# --- refused input: each leaves every table as it was -------------------

EXE = b"MZ\x90\x00" + bytes(300)
SMALL_LIMIT = 64 * 1024


def _no_token(form):  # type: ignore[no-untyped-def]
    form.fields = [f for f in form.fields if f.name != "token"]


def _forged_token(form):  # type: ignore[no-untyped-def]
    form.fill(token=form.get("token")[:-4] + "AAAA")


REFUSALS = [
    # label, change to the filled form, extra headers, status, text on the page, text kept
    (
        "empty statement",
        lambda f: f.fill(narrative=" "),
        {},
        400,
        "Please write what happened",
        False,
    ),
    (
        "wrong file type",
        lambda f: f.attach("files", EXE, "photo.jpg"),
        {},
        415,
        "cannot be taken",
        True,
    ),
    (
        "file over the limit",
        lambda f: f.attach("files", b"%PDF" + bytes(SMALL_LIMIT), "a.pdf"),
        {},
        413,
        "too big",
        True,
    ),
    (
        "body over the limit",
        lambda f: f.attach("files", b"%PDF" + bytes(SMALL_LIMIT + 300_000), "a.pdf"),
        {},
        413,
        "too big",
        False,
    ),
    ("missing CSRF token", _no_token, {}, 400, "Nothing was saved", False),
    ("forged CSRF token", _forged_token, {}, 400, "Nothing was saved", False),
    (
        "cross-site fetch",
        lambda f: None,
        {"Sec-Fetch-Site": "cross-site"},
        403,
        "another website",
        False,
    ),
    (
        "foreign origin",
        lambda f: None,
        {"Origin": "http://evil.example"},
        403,
        "another website",
        False,
    ),
]


@pytest.mark.parametrize(
    ("change", "headers", "status", "says", "kept"),
    [r[1:] for r in REFUSALS],
    ids=[r[0] for r in REFUSALS],
)
def test_refused_input_creates_nothing(
    gw, app, browser, change, headers, status, says, kept
) -> None:  # type: ignore[no-untyped-def]
    gw.settings = dataclasses.replace(gw.settings, max_upload_bytes=SMALL_LIMIT)
    app.config["MAX_CONTENT_LENGTH"] = SMALL_LIMIT + 256 * 1024
    before = count_rows(gw)
    form = main_form(browser.get("/report").get_data(as_text=True)).fill(narrative=STATEMENT)
    change(form)
    response = browser.submit(form, **headers)
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert says in page
    assert (STATEMENT in page) is kept
    assert "<html" in page and 'class="x"' in page  # a whole page, with the quick exit
    assert count_rows(gw) == before


def test_expired_form_comes_back_with_the_text(gw, browser, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    form = main_form(browser.get("/report").get_data(as_text=True)).fill(narrative=STATEMENT)
    monkeypatch.setattr(guard, "FORM_TOKEN_MAX_AGE", -1)
    response = browser.submit(form)
    assert response.status_code == 400
    assert STATEMENT in response.get_data(as_text=True)
    assert count_rows(gw)["cases"] == 0
    monkeypatch.undo()
    assert browser.submit(main_form(response.get_data(as_text=True))).status_code == 200


def test_honeypot_looks_like_success_and_files_nothing(gw, browser) -> None:  # type: ignore[no-untyped-def]
    before = count_rows(gw)
    form = main_form(browser.get("/report").get_data(as_text=True)).fill(
        narrative="spam", website2="http://spam.example"
    )
    response = browser.submit(form)
    assert response.status_code == 200
    number, pin = receipt_of(response.get_data(as_text=True))
    assert re.fullmatch(r"\d{4}-\d{6}-\d", number) and re.fullmatch(r"\d{6}", pin)
    assert count_rows(gw) == before


def test_a_flood_from_one_client_is_stopped_without_losing_the_text(gw, browser) -> None:  # type: ignore[no-untyped-def]
    set_raw(gw, GATEWAY_WEB_REPORTS_PER_HOUR="2")
    for _ in range(2):
        assert send_report(browser, narrative="x").status_code == 200
    before = count_rows(gw)
    response = send_report(browser, narrative=STATEMENT)
    assert response.status_code == 429
    assert STATEMENT in response.get_data(as_text=True)
    assert count_rows(gw) == before
    form = main_form(browser.get("/report").get_data(as_text=True)).fill(narrative="y")
    answer = browser.client.post(  # another client (address) is not held back
        "/report?lang=en",
        data=form.data(),
        content_type="multipart/form-data",
        environ_base={"REMOTE_ADDR": "198.51.100.9"},
    )
    assert answer.status_code == 200


def test_rate_limit_keys_hold_no_address(gw, client) -> None:  # type: ignore[no-untyped-def]
    address = "203.0.113.77"
    page = client.get("/report", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
    form = main_form(page).fill(narrative="x")
    client.post(
        "/report",
        data=form.data(),
        content_type="multipart/form-data",
        environ_base={"REMOTE_ADDR": address},
    )
    keys = [k.decode() for k in gw.redis.keys("*")]
    assert any(k.startswith("complaint-gateway:web:web-report:") for k in keys)
    assert not any(address in k for k in keys)
    for key in keys:
        if gw.redis.type(key) == b"string":
            assert address.encode() not in gw.redis.get(key)


@pytest.mark.parametrize(
    ("settings", "shown"),
    [
        ({}, ["our SMS number", "call our report line"]),
        (
            {"GATEWAY_PUBLIC_SMS_NUMBER": "1234", "GATEWAY_PUBLIC_PHONE_NUMBER": "5678"},
            ["send this message to 1234", "call 5678"],
        ),
    ],
)
def test_the_receipt_says_how_to_check_by_sms_and_phone(gw, browser, settings, shown) -> None:  # type: ignore[no-untyped-def]
    set_raw(gw, **settings)
    page = send_report(browser, narrative="x").get_data(as_text=True)
    for text in shown:
        assert text in page
    assert "cannot show this PIN again" in page
