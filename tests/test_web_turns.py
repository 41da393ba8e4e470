"""A coding that covers a speaker label (and so runs from one speaker into the next) is
flagged before it is stored: the API answers 409 until the request says ``across_turns``."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from qda.coding.workspace import turn_labels
from qda.models import Segment
from tests.conftest import run, snapshot
from tests.test_web_api import client, post, token


def turns(web, name: str = "E1") -> list[dict]:
    return web.get(f"/api/documents/{name}").json()["turns"]


def test_a_span_across_two_speakers_needs_confirming(demo_project: Path) -> None:
    web = client(demo_project, "alice")
    doc = turns(web)
    asking, answer = next((t, u) for t, u in zip(doc, doc[1:])
                          if t["role"] == "interviewer" and u["role"] == "respondent")
    start, end = asking["segments"][-1]["start"], answer["segments"][0]["end"]
    before = snapshot(demo_project)
    refused = post(web, document="E1", start=start, end=end, code="a")
    assert refused.status_code == 409
    body = refused.json()
    assert body["confirm"] == "across_turns" and "runs across a speaker turn" in body["error"]["message"]
    assert "Répondant" in body["error"]["message"] and "E1 " in body["problems"][0]
    assert snapshot(demo_project) == before  # nothing stored
    stored = post(web, document="E1", start=start, end=end, code="a", across_turns=True)
    assert stored.status_code == 201 and stored.json()["start"] == start and stored.json()["end"] == end


def test_the_label_alone_is_flagged_and_a_sentence_is_not(demo_project: Path) -> None:
    web = client(demo_project, "alice")
    answer = next(t for t in turns(web) if t["role"] == "respondent")
    first = answer["segments"][0]
    label_start = first["start"] - len("Répondant : ")
    refused = post(web, document="E1", start=label_start, end=first["start"] - 2, code="a")
    assert refused.status_code == 409 and "covers a speaker label" in refused.json()["error"]["message"]
    inside = post(web, document="E1", start=first["start"], end=answer["segments"][-1]["end"], code="a")
    assert inside.status_code == 201  # several sentences of one turn: nothing to ask
    # moving its start back over the label is flagged too; moving it inside the turn is not
    made = inside.json()
    moved = web.patch(f"/api/codings/{made['id']}", json={"start": label_start}, headers=token(web))
    assert moved.status_code == 409 and moved.json()["confirm"] == "across_turns"
    assert web.patch(f"/api/codings/{made['id']}", json={"start": first["start"] + 3},
                     headers=token(web)).status_code == 200
    assert web.patch(f"/api/codings/{made['id']}", json={"start": label_start, "across_turns": True},
                     headers=token(web)).json()["start"] == label_start
    # a change of code or memo on that coding asks nothing again
    assert web.patch(f"/api/codings/{made['id']}", json={"code": "b"}, headers=token(web)).status_code == 200


def test_paragraphs_without_speakers_are_never_flagged(demo_project: Path, tmp_path: Path) -> None:
    notes = tmp_path / "N1.txt"
    notes.write_text("First paragraph of field notes. It has two sentences.\n\n"
                     "Second paragraph, written the next day.\n", encoding="utf-8")
    run(CliRunner(), "-p", demo_project, "import", "transcripts", notes)
    web = client(demo_project, "alice")
    text = web.get("/api/documents/N1").json()["text"]
    assert post(web, document="N1", start=0, end=len(text.rstrip()), code="a").status_code == 201


def test_turn_labels_on_a_hand_made_text() -> None:
    text = "Titre\n\nQ : Une question ? Suite.\n\nR : Réponse.\n"
    q = text.index("Une"), text.index("Suite")
    segs = [Segment("T#1", "T", "T", 1, 1, q[0], q[1] - 1, ""),
            Segment("T#2", "T", "T", 1, 2, q[1], text.index("\n\nR"), ""),
            Segment("T#3", "T", "T", 2, 3, text.index("Réponse"), text.index("Réponse") + 8, "")]
    assert turn_labels(text, segs, q[1], end=segs[2].end) == ["R :"]
    assert turn_labels(text, segs, 0, end=segs[0].end) == ["Q :"]  # the title line is no label
    assert turn_labels(text, segs, 0, end=5) == []
    assert turn_labels(text, segs, q[1], end=q[1] + 3) == []  # "Suite" follows a sentence: no label
