"""``qda matrix case`` names the segment(s) and speaker of span codings too, never ``[E1, ?]``.

Rule (docs/commands-matrix.md): a span coding's quote is tagged with the segments it
overlaps by at least one character, ``E1#12`` or ``E1#12–13``, and their speaker (speakers
joined by " / " when it crosses turns of different speakers).
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from qda.matrix import IntraCaseMatrix, IntraCaseRow, Quote, place_quotes
from qda.models import Segment
from qda.project import Project
from tests.conftest import run


def segment(ordinal: int, start: int, end: int, speaker: str) -> Segment:
    return Segment(f"D#{ordinal}", "D", "D", ordinal, ordinal, start, end, "", speaker)


def test_place_quotes_by_hand() -> None:
    segments = {"D": [segment(1, 0, 10, "Ann"), segment(2, 11, 20, "Ann"), segment(3, 22, 30, "Bob")]}
    quotes = (Quote("D", None, None, 2, 5, "x"),  # inside D#1
              Quote("D", None, None, 5, 15, "x"),  # D#1 and D#2
              Quote("D", None, None, 10, 11, "x"),  # only the gap between them: no segment
              Quote("D", None, None, 15, 25, "x"),  # crosses into Bob's turn
              Quote("D", "D#3", "Bob", 22, 30, "x"))  # a whole segment: as it was
    placed = place_quotes(IntraCaseMatrix("D", "c", (IntraCaseRow("a", "A", None, 5, quotes),)), segments)
    assert [q.cited() for q in placed.rows[0].quotes] == [
        "[D#1, Ann] x", "[D#1–2, Ann] x", "[D, ?] x", "[D#2–3, Ann / Bob] x", "[D#3, Bob] x"]
    assert placed.rows[0].quotes[1].segments == ("D#1", "D#2")


def test_matrix_case_tags_span_codings_with_segment_and_speaker(demo_project: Path, runner: CliRunner) -> None:
    with Project.open(demo_project) as project:
        segs = [s for s in project.segments(document="E1")]
        answer = next(i for i, s in enumerate(segs) if s.speaker == "Répondant" and segs[i + 1].turn == s.turn)
        one, two = segs[answer], segs[answer + 1]
        project.add_coding("lea", "E1", "a", start=one.start + 3, end=one.end - 2)  # part of one sentence
        project.add_coding("lea", "E1", "b", start=one.start + 3, end=two.start + 8)  # over two sentences
        project.add_coding("lea", "E1", "c", start=one.start, end=one.end)  # a whole sentence: a segment coding
    table = " ".join(run(runner, "-p", demo_project, "matrix", "case", "E1", "--coder", "lea").output.split())
    assert "?]" not in table
    assert f"[{one.ref}, Répondant]" in table
    assert f"[{one.ref}–{two.ordinal}, Répondant]" in table
    data = json.loads(run(runner, "-p", demo_project, "matrix", "case", "E1", "--coder", "lea",
                          "--format", "json").stdout)
    quotes = {row["code"]: row["quotes"][0] for row in data["codes"]}
    assert (quotes["a"]["segment"], quotes["a"]["segments"], quotes["a"]["speaker"]) == (None, [one.ref], "Répondant")
    assert quotes["b"]["segments"] == [one.ref, two.ref]
    assert (quotes["c"]["segment"], quotes["c"]["speaker"]) == (one.ref, "Répondant")
