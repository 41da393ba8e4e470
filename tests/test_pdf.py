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
