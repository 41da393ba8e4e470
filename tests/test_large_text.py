"""Large texts (issue 11): a 1.15 M-character paragraph ended in spaCy's E088 max_length
error; long paragraphs are now cut into windows at sentence ends, offsets exact. A
transcript above the hard limit is refused up front with the limit and how to split it."""

from __future__ import annotations

from pathlib import Path

import pytest

import qda.ingest.readers as readers
from qda.errors import IngestError
from qda.ingest import read_transcript
from qda.ingest.segment import _windows, analyse_many
from qda.models import Turn

from conftest import run

SENTENCES = ["Nous allons à trois foires commerciales par année.", "On fait des démonstrations du produit !",
             "Est-ce que ça fonctionne vraiment ?", "Un ingénieur d'application suit chaque client."]


def _check_offsets(text: str, found) -> None:
    for s, e, low in zip(found.starts, found.ends, found.lower):
        assert text[s:e].lower() == low
    for span in found.spans:
        assert text[span.start:span.end] == text[span.start:span.end].strip() != ""


def test_a_paragraph_over_spacy_max_length_is_cut_with_exact_offsets() -> None:
    # Before: internal error: ValueError: [E088] Text of length 1150000 exceeds maximum.
    text = " ".join(SENTENCES[i % 4].replace("ça", "ca") for i in range(26_500))
    assert len(text) > 1_150_000 and "\n" not in text
    [found] = analyse_many([(text, [Turn(0, len(text), None)])], language="en", unit="sentence")
    _check_offsets(text, found)
    assert len(found.spans) == 26_500  # every sentence once: windows end at sentence ends
    [para] = analyse_many([(text, [Turn(0, len(text), None)])], language="en", unit="paragraph")
    assert [(s.start, s.end) for s in para.spans] == [(0, len(text))]  # one paragraph stays one segment


def test_windows_cut_at_sentence_ends_then_spaces() -> None:
    text = "Un mot. " * 10 + "x" * 5 + " " + "y" * 50
    windows = list(_windows(text, 0, len(text), 30))
    assert windows[0][0] == 0 and windows[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:]))  # nothing lost, nothing twice
    assert text[windows[0][1] - 2:windows[0][1]] == ". "


def test_french_pipeline_gives_the_same_segments_in_windows() -> None:
    text = " ".join(SENTENCES * 30)
    turns = [Turn(0, len(text), "Répondant")]
    [whole] = analyse_many([(text, turns)], language="fr", unit="sentence")
    [cut] = analyse_many([(text, turns)], language="fr", unit="sentence", chunk=500)
    _check_offsets(text, cut)
    assert [(s.start, s.end) for s in cut.spans] == [(s.start, s.end) for s in whole.spans]
    assert list(cut.starts) == list(whole.starts) and cut.lemma == whole.lemma


def test_a_transcript_over_the_limit_is_refused_up_front(runner, small_project: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: a 200 MB transcript ran 50 minutes (4.8 GB) without a word.
    monkeypatch.setattr(readers, "MAX_TRANSCRIPT_BYTES", 1000)  # read_transcript's limit
    big = tmp_path / "big.txt"
    big.write_text("Répondant : " + "Bonjour. " * 200, encoding="utf-8")
    with pytest.raises(IngestError, match="over the limit of"):
        read_transcript(big)
    result = run(runner, "-p", small_project, "import", "transcripts", big, code=1)
    assert "split it into several files" in result.output and "internal error" not in result.output


def test_a_long_text_reports_progress_in_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: a 10 MB transcript is one document, so its bar stood at 0/1 for minutes.
    from qda.ingest import segment

    monkeypatch.setattr(segment, "PROGRESS_CHARS", 10_000)
    text = " ".join(SENTENCES * 300)
    calls: list[tuple[str, int, int | None]] = []
    analyse_many([(text, [Turn(0, len(text), None)])], language="en", unit="sentence",
                 progress=lambda step, done, total=None: calls.append((step, done, total)))
    counts = [done for step, done, total in calls if step.endswith("thousands of characters")]
    total = len(text) // 1000
    assert counts[0] == 0 and counts[-1] == total and counts == sorted(counts) and len(counts) > 10
    assert all(t == total for step, _, t in calls if step.endswith("thousands of characters"))
