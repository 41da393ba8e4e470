"""The lead's view: coders overlaid on a document, the memo overview, and the coded-document
exports (HTML and DOCX) read back and checked against the project's codings."""

from __future__ import annotations

import io
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qda.cli import app
from qda.project import Project
from tests.conftest import run
from tests.test_web_api import client, first_segment, post, token

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def two_coders(folder: Path) -> tuple[dict, dict, dict]:
    """alice and bruno each code E1 (bruno with a memo): blind mode is on from then on."""
    alice, bruno = client(folder, "alice"), client(folder, "bruno")
    seg = first_segment(alice)
    a = post(alice, document="E1", start=seg["start"], end=seg["end"], code="a").json()
    b = post(bruno, document="E1", start=seg["start"] + 5, end=seg["end"], code="b", memo="bruno's reading").json()
    text = alice.get("/api/documents/E1").json()["text"]
    across = text.index("\n", seg["end"]) + 30  # into the next paragraph
    a2 = post(alice, document="E1", start=seg["start"] + 10, end=across, code="h", across_turns=True).json()
    return a, b, a2


# ---------------------------------------------------------------------------- overlay (API)
def test_overlay_of_several_coders_when_not_blind(demo_project: Path) -> None:
    a, b, a2 = two_coders(demo_project)
    lead = client(demo_project, "lead", unblind=True)
    doc = lead.get("/api/documents/E1?coders=alice,bruno").json()
    assert doc["coders"] == ["alice", "bruno"] and doc["coder"] == "alice"
    got = sorted((c["coder"], c["code"], c["start"], c["end"]) for c in doc["codings"])
    assert got == sorted((c["coder"], c["code"], c["start"], c["end"]) for c in (a, b, a2))
    # the lead's own view stays their own; one other coder alone is a switch, not an overlay
    assert lead.get("/api/documents/E1").json()["codings"] == []
    assert {c["coder"] for c in lead.get("/api/documents/E1?coders=bruno").json()["codings"]} == {"bruno"}


def test_overlay_is_refused_in_blind_mode(demo_project: Path) -> None:
    two_coders(demo_project)
    alice = client(demo_project, "alice")
    assert alice.get("/api/session").json()["blind"] is True
    for query in ("coders=alice,bruno", "coders=bruno", "coder=bruno", "coders=alice;consensus"):
        answer = alice.get(f"/api/documents/E1?{query}")
        assert answer.status_code == 404 and "blind mode" in answer.json()["error"]["message"], query
    mine = alice.get("/api/documents/E1?coders=alice").json()
    assert {c["coder"] for c in mine["codings"]} == {"alice"}
    assert alice.get("/api/documents/E1/export?format=html&coders=alice,bruno").status_code == 404


# ---------------------------------------------------------------------------- memo overview
def test_memo_overview_lists_every_kind_with_its_place_and_respects_blind_mode(demo_project: Path) -> None:
    a, b, _ = two_coders(demo_project)
    alice, bruno = client(demo_project, "alice"), client(demo_project, "bruno")
    for web, about, target, text in ((alice, "document", "E1", "long interview"), (alice, "code", "h", "fairs?"),
                                     (bruno, "case", "E2", "founder"), (bruno, "document", "P1", "bruno on P1")):
        assert web.post("/api/memos", json={"about": about, "target": target, "text": text},
                        headers=token(web)).status_code == 201
    seen = alice.get("/api/memo-overview").json()
    assert seen["blind"] is True and {m["author"] for m in seen["memos"]} == {"alice"}
    assert alice.get("/api/memo-overview?author=bruno").status_code == 404
    lead = client(demo_project, "lead", unblind=True)
    every = lead.get("/api/memo-overview").json()["memos"]
    kinds = {(m["kind"], m["author"], m["text"]) for m in every}
    assert kinds == {("document", "alice", "long interview"), ("code", "alice", "fairs?"),
                     ("case", "bruno", "founder"), ("document", "bruno", "bruno on P1"),
                     ("coding", "bruno", "bruno's reading")}
    coding = next(m for m in every if m["kind"] == "coding")
    assert (coding["document"], coding["start"], coding["end"], coding["code"]) == ("E1", b["start"], b["end"], "b")
    assert next(m for m in every if m["kind"] == "case")["document"] == "E2"  # the case's document
    assert {m["text"] for m in lead.get("/api/memo-overview?author=bruno&kind=document").json()["memos"]} == {
        "bruno on P1"}
    on_e1 = lead.get("/api/memo-overview?document=E1").json()["memos"]
    assert {m["text"] for m in on_e1} == {"long interview", "bruno's reading"}


# ---------------------------------------------------------------------------- exports read back
class Marks(HTMLParser):
    """The text under each coding id of an exported page, and the margin entries."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[list[str]] = []
        self.texts: dict[str, str] = {}
        self.margin: dict[str, dict[str, str]] = {}
        self.cells: list[str] = []
        self.in_text = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "mark":
            self.stack.append((found.get("data-c") or "").split())
        if tag == "li" and found.get("data-coding"):
            self.margin[str(found["data-coding"])] = {k: str(v) for k, v in found.items()}
        if tag == "td" and "text" in (found.get("class") or ""):
            self.in_text, _ = 1, self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark":
            self.stack.pop()
        if tag == "td":
            self.in_text = 0

    def handle_data(self, data: str) -> None:
        for ids in self.stack:
            for i in ids:
                self.texts[i] = self.texts.get(i, "") + data
        if self.in_text:
            self.cells[-1] += data


def paragraph_text(text: str, start: int, end: int) -> str:
    """A span's text as the exports show it: its lines without the blank lines between paragraphs."""
    return "".join(line for line in text[start:end].split("\n"))


@pytest.fixture
def coded(demo_project: Path) -> tuple[Path, list, str]:
    a, b, a2 = two_coders(demo_project)
    with Project.open(demo_project) as project:
        codings = [c for who in ("alice", "bruno") for c in project._store.codings(coder=who, document="E1")]
        text = project.workspace_document("E1")[0].text
    assert len(codings) == 3 and any(c.end > text.index("\n", c.start) for c in codings)  # one crosses a line
    return demo_project, codings, text


def test_html_export_holds_every_coding_with_its_text(coded, tmp_path: Path) -> None:
    folder, codings, text = coded
    out = tmp_path / "E1.html"
    result = run(CliRunner(), "-p", folder, "export", "document", "E1", "--coder", "alice", "--coder", "bruno",
                 "-o", out, "--format", "json")
    assert f'"file": "{out}"' in result.stdout
    page = out.read_text(encoding="utf-8")
    assert "<script" not in page and "http" not in page.split("</style>")[0]  # self-contained
    marks = Marks()
    marks.feed(page)
    assert "".join(marks.cells) == "".join(text.split("\n"))  # the whole transcript, in order
    for c in codings:
        assert marks.texts[str(c.id)] == paragraph_text(text, c.start, c.end)
        entry = marks.margin[str(c.id)]
        assert (entry["data-code"], entry["data-coder"], int(entry["data-start"]), int(entry["data-end"])) == (
            c.code, c.coder, c.start, c.end)
    assert "bruno&#x27;s reading" in page and "Foires commerciales" in page  # memo and label in the margin


def test_docx_export_has_highlighted_runs_and_a_comment_per_coding(coded, tmp_path: Path) -> None:
    from docx import Document

    folder, codings, text = coded
    out = tmp_path / "E1.docx"
    run(CliRunner(), "-p", folder, "export", "document", "E1", "-c", "alice", "-c", "bruno", "-o", out)
    book = Document(str(out))
    body = [p.text for p in book.paragraphs][2:]  # after the title and the line about the coders
    assert "".join(body) == "".join(text.split("\n"))
    comments = {c.comment_id: c for c in book.comments}
    assert len(comments) == len(codings)
    # the text between each comment's range markers, in document order
    anchored: dict[int, str] = {}
    open_ids: set[int] = set()
    for node in book.element.body.iter():
        if node.tag == W + "commentRangeStart":
            open_ids.add(int(node.get(W + "id")))
        elif node.tag == W + "commentRangeEnd":
            open_ids.discard(int(node.get(W + "id")))
        elif node.tag == W + "t":
            for i in open_ids:
                anchored[i] = anchored.get(i, "") + (node.text or "")
    expected = sorted((c.coder, c.code, paragraph_text(text, c.start, c.end), c.note) for c in codings)
    got = []
    for i, comment in comments.items():
        code = comment.text.split(" — ")[0]
        note = comment.text.split(" — memo: ")[1] if " — memo: " in comment.text else ""
        got.append((comment.author, code, anchored[i], note))
    assert sorted(got) == expected
    italic = {p.text.split(" :")[0] for p in book.paragraphs[2:] if p.runs and all(r.italic for r in p.runs)}
    assert italic == {"Intervieweur"}  # the interviewer's turns, as in the workspace
    shaded = [r for p in book.paragraphs for r in p.runs if r._r.find(f"{W}rPr/{W}shd") is not None]
    assert "".join(r.text for r in shaded) == "".join(
        ch for i, ch in enumerate(text) if ch != "\n" and any(c.start <= i < c.end for c in codings))


def test_export_download_from_the_page_and_its_refusals(coded) -> None:
    from docx import Document

    folder, codings, _ = coded
    lead = client(folder, "lead", unblind=True)
    html = lead.get("/api/documents/E1/export?format=html&coders=alice,bruno")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert 'filename="E1-coded.html"' in html.headers["content-disposition"]
    marks = Marks()
    marks.feed(html.text)
    assert set(marks.margin) == {str(c.id) for c in codings}
    docx = lead.get("/api/documents/E1/export?format=docx&coders=bruno")
    assert len(list(Document(io.BytesIO(docx.content)).comments)) == 1
    refused = lead.get("/api/documents/E1/export?format=pdf&coders=bruno")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "bad_request"
    assert "unknown format 'pdf' (use one of: html, docx)" in refused.json()["error"]["message"]
    assert lead.get("/api/documents/NOPE/export?coders=bruno").status_code == 404


def test_export_errors_name_the_fix(demo_project: Path, tmp_path: Path) -> None:
    two_coders(demo_project)
    runner = CliRunner()
    for args, message in ((["-c", "nobody", "-o", tmp_path / "x.html"], "unknown coder(s): nobody"),
                          (["-c", "alice", "-o", tmp_path / "x.pdf"], "written as .html or .htm or .docx"),
                          (["-c", "alice", "-o", tmp_path / "no" / "x.html"], "does not exist")):
        result = runner.invoke(app, ["-p", str(demo_project), "export", "document", "E1", *map(str, args)])
        assert result.exit_code != 0 and message in result.output, result.output
        assert "Traceback" not in result.output
    result = runner.invoke(app, ["-p", str(demo_project), "export", "document", "NOPE", "-c", "alice",
                                 "-o", str(tmp_path / "x.html")])
    assert result.exit_code != 0 and "unknown document 'NOPE'" in result.output
