"""PDF documents: the Info dictionary, every XMP stream and embedded files removed (pikepdf).

What names an author or a machine in a PDF: the trailer's Info dictionary
(Author, Creator, Producer, dates), XMP metadata streams (on the catalog,
on pages, on images, on fonts), application data (PieceInfo), files
embedded in the document (their names and contents, `/AF` associated
files), and the EXIF of photos embedded as JPEG (DCTDecode: a scanner
app's PDF carries the camera's GPS). All of it goes;
the pages, their text and their pictures stay. The document is written anew
(qpdf writes only what is still referenced, so no earlier revision survives)
with an ID derived from its content. A PDF that needs a password to open,
or that qpdf cannot read, is refused.

pikepdf: https://pikepdf.readthedocs.io/en/latest/topics/metadata.html
"""

from __future__ import annotations

import io

import pikepdf

from gateway.cases.cleaners import CannotClean
from gateway.cases.cleaners.images import jpeg_without_metadata

__all__ = ["clean_pdf"]

_DROPPED_KEYS = ("/Metadata", "/PieceInfo", "/AF")
# A file specification's names and contents (an attachment-annotation's file too).
_FILESPEC_KEYS = ("/EF", "/RF", "/F", "/UF", "/Desc")


def clean_pdf(data: bytes) -> bytes:
    """The document without its metadata; CannotClean when it cannot be read."""
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            if "/Info" in pdf.trailer:
                del pdf.trailer["/Info"]
            names = pdf.Root.get("/Names")
            if isinstance(names, pikepdf.Dictionary) and "/EmbeddedFiles" in names:
                del names["/EmbeddedFiles"]
            for obj in pdf.objects:
                if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                    _clean_object(obj)
            out = io.BytesIO()
            pdf.save(out, deterministic_id=True, encryption=False)
            return out.getvalue()
    except CannotClean:
        raise
    except Exception as exc:  # noqa: BLE001 - qpdf: password, damage beyond repair, odd objects
        raise CannotClean("pdf") from exc


def _clean_object(obj: pikepdf.Object) -> None:
    for key in _DROPPED_KEYS:
        if key in obj:
            del obj[key]
    if obj.get("/Type") == "/Filespec":
        for key in _FILESPEC_KEYS:
            if key in obj:
                del obj[key]
    if not isinstance(obj, pikepdf.Stream):
        return
    if obj.get("/Type") == "/EmbeddedFile":  # also reachable from file-attachment annotations
        obj.write(b"")
    elif obj.get("/Subtype") == "/Image" and _only_filter(obj) == "/DCTDecode":
        obj.write(
            jpeg_without_metadata(obj.read_raw_bytes()),
            filter=pikepdf.Name.DCTDecode,
            decode_parms=obj.get("/DecodeParms"),
        )


def _only_filter(stream: pikepdf.Stream) -> str | None:
    """The stream's filter when it has exactly one (a JPEG's bytes are then its raw bytes)."""
    value = stream.get("/Filter")
    if isinstance(value, pikepdf.Array):
        value = value[0] if len(value) == 1 else None
    return str(value) if isinstance(value, pikepdf.Name) else None
