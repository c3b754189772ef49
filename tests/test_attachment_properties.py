"""Property tests of attachments: random pictures, damaged files and bombs (issue 16, 2 and 10).

- Any picture of any size, mode and format the gateway takes, whole or
  damaged, and any header that claims up to 65535x65535 pixels: the upload
  check and the cleaner either refuse it (a picture over the pixel cap is
  refused by the check, from its header alone) or give a picture without
  metadata that opens, never another error.
- Every other type (PDF, MP4, M4A, MP3, Ogg, WAV) cut anywhere: cleaned of
  every secret, or refused. With bytes changed at random: never another
  error (a damaged file's metadata may sit where no format puts it, and a
  device does not write such files; what is promised for them is that they
  never fail a job nor lose a report).
- Through the web form and the worker (real database and Redis): never a
  5xx, a refusal changes nothing, and an accepted report reaches the
  tracker with only clean files, each file that was not kept leaving a note.

GATEWAY_FUZZ_EXAMPLES raises the number of examples (tests/test_hostile_input.py).
"""

from __future__ import annotations

import io
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import select

from gateway.cases.cleaners.images import MAX_PIXELS
from gateway.cases.media import ImageTooLarge, UnsupportedMedia, check_upload, strip_metadata
from gateway.core.models import CaseEvent, MediaDownload, OutboxEntry
from tests.support import media_samples as samples
from tests.support.jobs import run_jobs
from tests.test_hostile_input import EXAMPLES, count_rows

PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MODES = {
    "PNG": ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"],
    "JPEG": ["L", "RGB", "CMYK"],
    "GIF": ["L", "P"],
    "WEBP": ["RGB", "RGBA"],
}
TOKEN = re.compile(r'name="token" value="([^"]+)"')


@st.composite
def pictures(draw: st.DrawFn) -> bytes:
    """A real picture with metadata: any format the gateway takes, size and pixel mode."""
    fmt = draw(st.sampled_from(sorted(MODES)))
    mode = draw(st.sampled_from(MODES[fmt]))
    size = (draw(st.integers(1, 700)), draw(st.integers(1, 700)))
    img = Image.new(mode, size)
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0110] = samples.DEVICE
    exif[0x0112] = draw(st.integers(0, 9))  # any orientation, even ones that do not exist
    options: dict[str, Any] = {"exif": exif} if fmt != "GIF" else {"comment": samples.DEVICE}
    if fmt == "GIF" and draw(st.booleans()):  # an animation: only its first frame is kept
        options.update(save_all=True, append_images=[Image.new(mode, size, 1)], duration=100)
    img.save(out, format=fmt, **options)
    return out.getvalue()


@st.composite
def headers(draw: st.DrawFn) -> tuple[bytes, int]:
    """A picture header that claims any size, with almost no data: (file, pixels claimed)."""
    make, most = draw(
        st.sampled_from(
            [
                (samples.png_header, 2**31 - 1),
                (samples.gif_bomb, 65535),
                (samples.webp_bomb, 16384),
                (samples.jpeg_bomb, 65535),
            ]
        )
    )
    side = st.one_of(st.integers(1, most), st.integers(4000, 6000))  # around the cap too
    width, height = draw(side), draw(side)
    return make(width, height), width * height


@st.composite
def damaged(draw: st.DrawFn, data: bytes, flip: bool) -> bytes:
    """`data` cut at any point, or (flip) with a few bytes changed."""
    if not flip:
        return data[: draw(st.integers(0, len(data)))]
    changed = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        changed[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(changed)


def clean_or_refuse(data: bytes) -> bytes | None:
    """What the gateway does with a file: its clean bytes, or None when refused."""
    try:
        kind = check_upload(data)
        return strip_metadata(kind, data)
    except UnsupportedMedia:
        return None


@PROPERTY
@given(picture=pictures(), cut=st.none() | st.floats(0, 1), flip=st.booleans(), data=st.data())
def test_any_picture_is_cleaned_or_refused(picture: bytes, cut, flip: bool, data) -> None:  # type: ignore[no-untyped-def]
    if cut is not None:
        picture = data.draw(damaged(picture, flip))
    cleaned = clean_or_refuse(picture)
    if cleaned is not None:
        assert samples.secrets_in(cleaned) == []
        with Image.open(io.BytesIO(cleaned)) as img:
            assert not img.getexif() and img.width * img.height <= MAX_PIXELS
            img.load()


@PROPERTY
@given(claimed=headers())
def test_a_header_over_the_cap_is_refused_before_anything_is_decoded(claimed) -> None:  # type: ignore[no-untyped-def]
    data, pixels = claimed
    try:
        check_upload(data)
    except ImageTooLarge:
        assert pixels > MAX_PIXELS
    except UnsupportedMedia:
        pass
    else:
        assert pixels <= MAX_PIXELS
    cleaned = clean_or_refuse(data)  # mostly refused: little data behind the header
    if cleaned is not None:
        assert pixels <= MAX_PIXELS
        with Image.open(io.BytesIO(cleaned)) as img:
            img.load()


OTHERS = {
    "pdf": samples.pdf_with_metadata(),
    "mp4": samples.mp4_with_gps(),
    "m4a": samples.mp4_with_gps(b"M4A "),
    "mp3": samples.mp3_with_id3(),
    "ogg": samples.ogg_opus_with_comments(),
    "wav": samples.wav_with_info(),
}


@PROPERTY
@given(name=st.sampled_from(sorted(OTHERS)), flip=st.booleans(), data=st.data())
def test_any_other_file_cut_or_changed_is_cleaned_or_refused(name: str, flip: bool, data) -> None:  # type: ignore[no-untyped-def]
    file = data.draw(damaged(OTHERS[name], flip))
    cleaned = clean_or_refuse(file)  # never any error but a refusal
    if cleaned is not None and not flip:
        assert samples.secrets_in(cleaned) == [], name


uploads = st.lists(
    st.one_of(
        pictures(),
        headers().map(lambda claimed: claimed[0]),
        st.sampled_from(sorted(OTHERS)).map(OTHERS.__getitem__),
        st.sampled_from(sorted(OTHERS)).map(lambda name: OTHERS[name][: len(OTHERS[name]) // 2]),
    ),
    min_size=1,
    max_size=3,
)


@settings(PROPERTY, max_examples=max(5, EXAMPLES // 3))  # each example runs the worker's jobs
@given(files=uploads)
def test_the_web_form_files_every_report_with_only_clean_files(
    client, gw, tracker, files: list[bytes]
) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/report").get_data(as_text=True)
    narrative = f"report {len(tracker.requests)} with {len(files)} files"
    form = {
        "token": TOKEN.search(page).group(1),  # type: ignore[union-attr]
        "narrative": narrative,
        "files": [(io.BytesIO(f), f"file{n}") for n, f in enumerate(files)],
    }
    before = count_rows(gw)
    response = client.post(
        "/report", data=form, headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    )
    assert response.status_code in (200, 413, 415), response.status_code
    if response.status_code != 200:
        assert count_rows(gw) == before  # refused in the request: nothing stored
        return
    run_jobs(gw)
    [forwarded] = [r.body for r in tracker.requests if r.body["narrative"] == narrative]
    with gw.sessions() as session:
        case_id = session.scalars(
            select(OutboxEntry.case_id).order_by(OutboxEntry.id.desc()).limit(1)
        ).one()
        downloads = session.scalars(select(MediaDownload).where(MediaDownload.case_id == case_id))
        states = [(d.state, d.data_enc is None) for d in downloads]
        notes = session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.kind == "note")
        ).all()
        outbox = set(
            session.scalars(select(OutboxEntry.state).where(OutboxEntry.case_id == case_id))
        )
    assert len(states) == len(files) and all(empty for _, empty in states)
    assert {state for state, _ in states} <= {"done", "dead"} and "waiting" not in outbox
    assert len(notes) == sum(state == "dead" for state, _ in states)
    assert len(forwarded["attachments"]) == sum(state == "done" for state, _ in states)
    for attachment in forwarded["attachments"]:
        path = attachment["url"].removeprefix(gw.settings.public_base_url)
        assert samples.secrets_in(client.get(path).get_data()) == []
