"""Text-based PDF transcripts in, scanned PDFs refused with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from qda.errors import IngestError
from qda.ingest import read_transcript


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose text layer holds ``lines`` (Helvetica, WinAnsi: accents as octal escapes)."""
    def literal(text: str) -> str:
        out = []
        for ch in text:
            code = ord(ch.encode("cp1252"))
            out.append(f"\\{code:03o}" if code > 126 or ch in "()\\" else ch)
        return "".join(out)

    content = "BT /F1 11 Tf 72 760 Td 14 TL " + " ".join(f"({literal(line)}) '" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content.encode('latin-1'))} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    body = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += f"{number} 0 obj\n{obj}\nendobj\n".encode("latin-1")
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    body += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return body


def test_text_pdf_gives_turns(tmp_path: Path) -> None:
    path = tmp_path / "E7.pdf"
    path.write_bytes(minimal_pdf(["Intervieweur : Allez-vous aux foires commerciales ?",
                                  "Répondant : Oui, nous y allons chaque année avec nos démos."]))
    raw = read_transcript(path)
    assert [t.speaker for t in raw.turns] == ["Intervieweur", "Répondant"]
    assert raw.text[raw.turns[1].start:raw.turns[1].end] == "Oui, nous y allons chaque année avec nos démos."


def test_scanned_pdf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(minimal_pdf([]))
    with pytest.raises(IngestError) as info:
        read_transcript(path)
    assert "scan.pdf: this PDF has no text layer" in info.value.message


def test_damaged_pdf(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage")
    with pytest.raises(IngestError, match="broken.pdf"):
        read_transcript(path)


def pdf_drawing(pages: int, megabytes: int) -> bytes:
    """A small PDF whose every page inflates to ``megabytes`` MB of (text-free) drawing instructions."""
    import zlib

    filler = zlib.compress(b"0 0 m 1 1 l S\n" * (megabytes * 1024 ** 2 // 14), 9)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>"]
    for i in range(pages):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R >>")
        objects.append(None)  # the stream, written as bytes below
    body = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        if obj is None:
            body += (f"{number} 0 obj\n<< /Length {len(filler)} /Filter /FlateDecode >>\nstream\n".encode()
                     + filler + b"\nendstream\nendobj\n")
        else:
            body += f"{number} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    body += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return body


@pytest.mark.parametrize("pages, megabytes, said", [
    (1, 9, "page 1 holds 9 MB of drawing instructions"),
    (10, 7, "pages 1-10 hold 70 MB of drawing instructions"),
])
def test_pdf_pages_that_inflate_to_megabytes_are_refused_before_extraction(tmp_path: Path, monkeypatch, pages: int,
                                                                         megabytes: int, said: str) -> None:
    # Before: a 2 MB PDF of 30 x 70 MB streams kept pypdf extracting for over 600 s, and the
    # 50 MB text limit was only checked afterwards.
    from pypdf import PageObject

    path = tmp_path / "bomb.pdf"
    path.write_bytes(pdf_drawing(pages, megabytes))
    assert path.stat().st_size < 2 * 1024 ** 2
    extracted: list[int] = []
    real = PageObject.extract_text
    monkeypatch.setattr(PageObject, "extract_text", lambda self, *a, **k: extracted.append(1) or real(self, *a, **k))
    with pytest.raises(IngestError) as info:
        read_transcript(path)
    assert said in info.value.message and "bomb.pdf: refused" in info.value.message
    assert len(extracted) < pages  # stopped before extracting the page that broke the limit
