"""Reading transcripts: encodings, normalisation, speaker turns, docx, segmentation."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from qda.errors import IngestError
from qda.ingest import decode_bytes, detect_turns, normalise_text, read_transcript
from qda.ingest.segment import split_sentences

FRENCH = "Intervieweur : Vous allez aux foires ?\nRépondant : Oui, à Munich. Et à San Francisco.\n"


def speakers(text: str) -> list[str | None]:
    return [t.speaker for t in detect_turns(text)]


@pytest.mark.parametrize("data, encoding", [
    (FRENCH.encode("utf-8"), "utf-8"),
    (b"\xef\xbb\xbf" + FRENCH.encode("utf-8"), "utf-8-sig"),
    (FRENCH.encode("cp1252"), "cp1252"),
    (b"\xff\xfe" + FRENCH.encode("utf-16-le"), "utf-16"),
])
def test_encodings_are_detected(data: bytes, encoding: str) -> None:
    text, found = decode_bytes(data, "x.txt")
    assert found == encoding
    assert text == FRENCH


def test_binary_content_is_refused_with_the_file_name() -> None:
    with pytest.raises(IngestError) as info:
        decode_bytes(b"\x00\x01\x02PK\x03\x04" * 50, "photo.txt")
    assert "photo.txt" in info.value.message and "not a text file" in info.value.message


def test_normalisation_crlf_nfc_spaces() -> None:
    decomposed = unicodedata.normalize("NFD", "Répondant\u00a0: déjà\u200b vu\r\nfin\r")
    assert normalise_text(decomposed) == "Répondant : déjà vu\nfin\n"


@pytest.mark.parametrize("text, expected", [
    ("Intervieweur : Bonjour.\nRépondant : Salut.\n", ["Intervieweur", "Répondant"]),
    ("Q: Why?\nR: Because.\nQ: And?\nR: So.\n", ["Q", "R", "Q", "R"]),
    ("E3 : Oui.\nIntervieweuse : Et alors ?\nE3 : Eh bien.\n", ["E3", "Intervieweuse", "E3"]),
    ("[00:12:03] Marie: On y va.\n[00:12:09] Paul: D'accord.\n[00:12:15] Marie: Bon.\n[00:13:00] Paul: Oui.\n",
     ["Marie", "Paul", "Marie", "Paul"]),
])
def test_speaker_labels(text: str, expected: list[str]) -> None:
    assert speakers(text) == expected


def test_running_prose_with_a_colon_is_not_a_speaker() -> None:
    text = "Répondant : On a trois priorités.\nBref : on vend.\nIntervieweur : D'accord.\n"
    assert speakers(text) == ["Répondant", "Intervieweur"]
    turns = detect_turns(text)
    assert text[turns[0].start:turns[0].end] == "On a trois priorités.\nBref : on vend."


def test_timestamps_are_kept_and_text_before_the_first_label_is_a_turn() -> None:
    text = "Titre de l'entretien\n\n[00:00:05] Marie: Bonjour.\n[00:00:09] Marie: Encore.\n"
    turns = detect_turns(text)
    assert [(t.speaker, t.timestamp) for t in turns] == [(None, None), ("Marie", "00:00:05"), ("Marie", "00:00:09")]


def test_sentences_keep_turn_and_speaker_and_offsets() -> None:
    text = normalise_text(FRENCH)
    spans = split_sentences(text, detect_turns(text), language="fr")
    assert [(text[s.start:s.end], s.turn, s.speaker) for s in spans] == [
        ("Vous allez aux foires ?", 1, "Intervieweur"),
        ("Oui, à Munich.", 2, "Répondant"),
        ("Et à San Francisco.", 2, "Répondant"),
    ]


def test_english_rule_sentencizer() -> None:
    text = "Q: How? It works.\nR: Fine. Really fine!\n"
    spans = split_sentences(text, detect_turns(text), language="en")
    assert [text[s.start:s.end] for s in spans] == ["How?", "It works.", "Fine.", "Really fine!"]


def test_docx_paragraphs(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Intervieweur : Parlez-moi des salons.")
    document.add_paragraph("Répondant : Nous allons à Photonics West.")
    table = document.add_table(rows=1, cols=1)
    table.cell(0, 0).text = "Métadonnées : ne pas importer"
    path = tmp_path / "E9.docx"
    document.save(path)
    raw = read_transcript(path)
    assert "Métadonnées" not in raw.text
    assert [t.speaker for t in raw.turns] == ["Intervieweur", "Répondant"]


def test_corrupt_docx_and_unknown_type(tmp_path: Path) -> None:
    bad = tmp_path / "broken.docx"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(IngestError) as info:
        read_transcript(bad)
    assert "broken.docx" in info.value.message and "damaged" in info.value.message
    other = tmp_path / "notes.pages"
    other.write_text("x")
    with pytest.raises(IngestError, match="unsupported file type '.pages'"):
        read_transcript(other)


def test_a_timestamped_speaker_counts_even_once() -> None:
    text = "[00:12:03] Marie: On y va.\n[00:12:09] Marie: Encore.\n[00:12:40] Paul: Une seule fois.\n"
    assert speakers(text) == ["Marie", "Marie", "Paul"]
