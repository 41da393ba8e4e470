"""Codes born while coding: adding, renaming and merging codes in the project and its YAML file.

The YAML edits are checked line by line (only the code's lines may change), the project
through the facade and the CLI (codings per coder before and after a merge, undo restoring
every coding row and the file), and the browser route through Starlette's TestClient.
"""

from __future__ import annotations

import difflib
import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from qda.codebook import parse_codebook
from qda.coding.codes import insert_code_text, remove_code_text, replace_scalar_text
from qda.errors import CodebookError, QdaError
from qda.project import Project
from qda.web import create_app
from tests.conftest import CODEBOOK, run, run_json, snapshot

BOOK = """\
# a comment at the top, kept
name: Test book
languages: [fr, en]
categories:
    # the first category
    - id: cat1
      label: {fr: Catégorie, en: Category}
      codes:
          - id: a
            label:
                fr: Code A
                en: Code A
            definition: a long definition that
                goes on a second line  # not a comment: part of the scalar? no, a comment
          - id: b
            label: {fr: B, en: B}
            codes:
                - id: b1
                  label: {fr: B1, en: B1}
    - id: cat2
      label: {fr: Deux, en: Two}
      codes: []
codes:
- id: loose
  label: {fr: Libre, en: Loose}

# a trailing comment, kept
"""

ENTRY = {"id": "new", "label": {"fr": "Nouveau: oui", "en": "New"}}


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """Lines removed from and added to ``before``."""
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def codes_of(text: str) -> dict[str, tuple[str | None, str | None]]:
    """code id -> (category, parent) as the validator reads the text."""
    return {c.id: (c.category, c.parent) for c in parse_codebook(text).codes}


# --------------------------------------------------------------------------- YAML text edits

@pytest.mark.parametrize("parent, where", [("cat1", ("cat1", None)), ("a", ("cat1", "a")), ("b", ("cat1", "b")),
                                           ("cat2", ("cat2", None)), (None, (None, None))])
def test_a_code_is_added_under_its_parent_and_nothing_else_changes(parent, where) -> None:
    after = insert_code_text(BOOK, ENTRY, parent, comment="# qda: added by alice")
    assert codes_of(after)["new"] == where
    assert codes_of(after).keys() - {"new"} == codes_of(BOOK).keys()
    removed, added = changed_lines(BOOK, after)
    # cat2's 'codes: []' is the one line rewritten: its value becomes a list
    assert removed == (["      codes: []"] if parent == "cat2" else [])
    assert any(line.strip() == "# qda: added by alice" for line in added) and any("id: new" in line for line in added)
    assert parse_codebook(after).code("new").labels == {"fr": "Nouveau: oui", "en": "New"}
    for comment in ("# a comment at the top, kept", "    # the first category", "# a trailing comment, kept"):
        assert comment in after.splitlines()


def test_a_code_without_codes_gets_a_codes_list() -> None:
    after = insert_code_text(BOOK, ENTRY, "b1")
    assert codes_of(after)["new"] == ("cat1", "b1")
    assert changed_lines(BOOK, after)[0] == []


def test_a_book_without_top_level_codes_gets_one() -> None:
    text = "name: X\nlanguages: [fr]\ncategories:\n- id: c\n  label: C\n  codes:\n  - id: a\n    label: A"  # no newline
    after = insert_code_text(text, {"id": "z", "label": {"fr": "Z"}}, None)
    assert codes_of(after)["z"] == (None, None) and after.startswith(text + "\n")


def test_a_flow_list_of_codes_is_refused_with_a_reason() -> None:
    text = "name: X\nlanguages: [fr]\ncodes: [{id: a, label: A}]\n"
    with pytest.raises(CodebookError, match="flow"):
        insert_code_text(text, {"id": "z", "label": {"fr": "Z"}}, None)


def test_rename_changes_the_id_and_label_lines_only() -> None:
    after = replace_scalar_text(BOOK, "a", ("id",), value="a2")
    after = replace_scalar_text(after, "a2", ("label", "en"), value="Code: A")
    assert changed_lines(BOOK, after) == (["          - id: a", "                en: Code A"],
                                          ["          - id: a2", "                en: 'Code: A'"])
    assert parse_codebook(after).code("a2").labels["en"] == "Code: A"


def test_a_label_in_a_flow_mapping_is_quoted_when_it_must_be() -> None:
    after = replace_scalar_text(BOOK, "b", ("label", "fr"), value="B, {avec} virgule")
    assert changed_lines(BOOK, after) == (["            label: {fr: B, en: B}"],
                                          ['            label: {fr: "B, {avec} virgule", en: B}'])
    assert parse_codebook(after).code("b").labels == {"fr": "B, {avec} virgule", "en": "B"}


def test_removing_a_code_removes_its_lines_and_an_emptied_list() -> None:
    after = remove_code_text(BOOK, "a")
    assert "a" not in codes_of(after) and codes_of(after)["b1"] == ("cat1", "b")
    removed, added = changed_lines(BOOK, after)
    assert added == [] and removed[0] == "          - id: a" and len(removed) == 6
    after = remove_code_text(BOOK, "b1")  # the only subcode: b's 'codes:' key goes too
    removed, _ = changed_lines(BOOK, after)
    assert removed == ["            codes:", "                - id: b1", "                  label: {fr: B1, en: B1}"]
    marked = insert_code_text(BOOK, ENTRY, "cat1", comment="# qda: added by bob")
    assert remove_code_text(marked, "new") == BOOK  # qda's own comment leaves with the code


# --------------------------------------------------------------------------- the project

@pytest.fixture
def project(demo_project: Path) -> Path:
    """The demo project with its own copy of the codebook, loaded from inside the project folder."""
    shutil.copy(CODEBOOK, demo_project / "codebook.yaml")
    with Project.open(demo_project) as p:
        p.load_codebook(demo_project / "codebook.yaml")
    return demo_project


def coding_rows(folder: Path) -> list[tuple]:
    db = sqlite3.connect(folder / "project.qda")
    try:
        return db.execute('SELECT k.id, co.name, c.key, k.document_id, k.start, k."end", k.note FROM codings k '
                          "JOIN coders co ON co.id=k.coder_id JOIN codes c ON c.id=k.code_id ORDER BY k.id").fetchall()
    finally:
        db.close()


def per_coder(folder: Path, code: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in coding_rows(folder):
        if row[2] == code:
            counts[row[1]] = counts.get(row[1], 0) + 1
    return counts


def shown_codes(tree: object) -> set[str]:
    """Every code id in the JSON of 'qda codebook show' (codes nest in categories and codes)."""
    if isinstance(tree, list):
        return set().union(*(shown_codes(item) for item in tree)) if tree else set()
    if not isinstance(tree, dict):
        return set()
    found = {c["id"] for c in tree.get("codes", [])}
    return found | shown_codes(tree.get("codes", [])) | shown_codes(tree.get("categories", []))


def code_segments(p: Project, coder: str, code: str, segments) -> None:
    for s in segments:
        p.add_coding(coder, s.document, code, start=s.start, end=s.end)


def test_added_code_is_in_the_yaml_the_codebook_and_matrices(project: Path, runner) -> None:
    yaml_file = project / "codebook.yaml"
    before = yaml_file.read_text(encoding="utf-8")
    run(runner, "-p", project, "codebook", "add", "distributors", "--label", "Distributeurs",
        "--label", "en=Distributors", "--parent", "events", "--definition", "Foreign distributors.")
    after = yaml_file.read_text(encoding="utf-8")
    assert changed_lines(before, after)[0] == []  # nothing removed: comments and layout stay
    assert parse_codebook(after).code("distributors").category == "events"
    assert "distributors" in shown_codes(run_json(runner, "-p", project, "codebook", "show"))
    with Project.open(project) as p:
        segment = p.segments("E1")[3]
        p.add_coding("alice", "E1", "distributors", start=segment.start, end=segment.end)
    table = run_json(runner, "-p", project, "matrix", "case", "E1", "--coder", "alice")
    assert "distributors" in json.dumps(table)


def test_every_problem_at_once_and_nothing_written(project: Path, runner) -> None:
    yaml_file = project / "codebook.yaml"
    before, db = yaml_file.read_bytes(), snapshot(project)
    result = run(runner, "-p", project, "codebook", "add", "a b", "--label", "", "--parent", "nowhere", code=1)
    assert "3 problem(s)" in result.output
    assert "id 'a b' is empty or contains spaces" in result.output
    assert "the code needs a label" in result.output and "no code or category 'nowhere'" in result.output
    result = run(runner, "-p", project, "codebook", "add", "digital", "--label", "x", code=1)
    assert "'digital' is already a category" in result.output
    result = run(runner, "-p", project, "codebook", "add", "a", "--label", "x", code=1)
    assert "'a' is already a code" in result.output and "Traceback" not in result.output
    assert yaml_file.read_bytes() == before and snapshot(project) == db


def test_a_file_edited_or_moved_since_load_is_refused(project: Path, runner) -> None:
    yaml_file = project / "codebook.yaml"
    yaml_file.write_text(yaml_file.read_text(encoding="utf-8") + "# my edit\n", encoding="utf-8")
    db = snapshot(project)
    result = run(runner, "-p", project, "codebook", "add", "zz", "--label", "Z", code=1)
    assert "edited since it was loaded" in result.output and "qda codebook load" in result.output
    assert yaml_file.read_text(encoding="utf-8").endswith("# my edit\n") and snapshot(project) == db
    run(runner, "-p", project, "codebook", "load", yaml_file)  # takes the edit in: now it works
    run(runner, "-p", project, "codebook", "add", "zz", "--label", "Z")
    assert "# my edit" in yaml_file.read_text(encoding="utf-8")
    yaml_file.rename(project / "moved.yaml")
    result = run(runner, "-p", project, "codebook", "add", "zy", "--label", "Y", code=1)
    assert "not there any more" in result.output


def test_a_codebook_loaded_before_the_file_was_recorded_is_refused(demo_project: Path, runner) -> None:
    db = sqlite3.connect(demo_project / "project.qda")
    db.execute("DELETE FROM meta WHERE key LIKE 'codebook_%'")
    db.commit()
    db.close()
    result = run(runner, "-p", demo_project, "codebook", "add", "zz", "--label", "Z", code=1)
    assert "does not know which YAML file" in result.output


def test_a_failed_file_write_leaves_the_project_unchanged(project: Path, monkeypatch) -> None:
    import qda.files
    from qda.errors import ExportError

    def broken(path, write):
        raise ExportError(f"cannot write {path}: disk full")

    monkeypatch.setattr(qda.files, "write_atomically", broken)
    before, db = (project / "codebook.yaml").read_bytes(), snapshot(project)
    with Project.open(project) as p, pytest.raises(QdaError, match="disk full"):
        p.add_code("zz", {"fr": "Z"})
    assert (project / "codebook.yaml").read_bytes() == before and snapshot(project) == db


def test_merge_moves_every_coders_codings_and_undo_restores_each_row(project: Path, runner) -> None:
    yaml_file = project / "codebook.yaml"
    with Project.open(project) as p:
        segments = [s for s in p.segments("E1") if s.role == "respondent"][:6]
        for coder in ("alice", "bob"):
            code_segments(p, coder, "h", segments[:4])
            code_segments(p, coder, "i", segments[2:6])  # segments 2 and 3 get both: duplicates after the merge
        code_segments(p, "carol", "i", segments[:1])
        memo = p.add_memo("alice", "code", "i", text="trade fairs and congresses look alike")
        note = p.change_coding("bob", next(c.id for c in p.codings("bob") if c.code == "i"
                                           and c.start == segments[2].start), {"memo": "kept note"}, snap="none")
    assert note.note == "kept note"
    rows_before, text_before = coding_rows(project), yaml_file.read_text(encoding="utf-8")
    assert per_coder(project, "h") == {"alice": 4, "bob": 4}
    assert per_coder(project, "i") == {"alice": 4, "bob": 4, "carol": 1}

    result = run_json(runner, "-p", project, "codebook", "merge", "i", "--into", "h")
    assert result["codings"] == {"alice": 4, "bob": 4, "carol": 1}
    assert result["duplicates"] == {"alice": 2, "bob": 2}
    assert per_coder(project, "i") == {}
    assert per_coder(project, "h") == {"alice": 6, "bob": 6, "carol": 1}  # 4 + 4 - 2 duplicates
    kept = [r for r in coding_rows(project) if r[1] == "bob" and r[4] == segments[2].start]
    assert len(kept) == 1 and kept[0][6] == "kept note"  # the duplicate's note was not lost
    assert "i" not in codes_of(yaml_file.read_text(encoding="utf-8"))
    assert "i" not in shown_codes(run_json(runner, "-p", project, "codebook", "show"))
    with Project.open(project) as p:
        assert [m.id for m in p.memos_about("code", "h")] == [memo.id]
    history = run_json(runner, "-p", project, "history")
    assert "codebook merge i --into h" in json.dumps(history)

    run(runner, "-p", project, "undo", "--yes")
    assert coding_rows(project) == rows_before  # every row back, with its id, code and note
    assert yaml_file.read_text(encoding="utf-8") == text_before
    run(runner, "-p", project, "codebook", "add", "after-undo", "--label", "ok")  # file and project agree again


def test_merge_refusals_name_every_problem(project: Path, runner) -> None:
    yaml_file = project / "codebook.yaml"
    before, db = yaml_file.read_bytes(), snapshot(project)
    result = run(runner, "-p", project, "codebook", "merge", "nope", "h", "--into", "h", code=1)
    assert "no code 'nope'" in result.output and "cannot be merged into itself" in result.output
    assert yaml_file.read_bytes() == before and snapshot(project) == db
    run(runner, "-p", project, "codebook", "add", "parentcode", "--label", "P")
    run(runner, "-p", project, "codebook", "add", "child", "--label", "C", "--parent", "parentcode")
    before, db = yaml_file.read_bytes(), snapshot(project)
    result = run(runner, "-p", project, "codebook", "merge", "parentcode", "--into", "h", code=1)
    assert "has subcodes (child)" in result.output
    text = re.sub(r"( *)- id: parentcode\n", r"\1- id: parentcode\n\1  codable: false\n",
                  yaml_file.read_text(encoding="utf-8"))
    assert "codable: false" in text
    yaml_file.write_text(text, encoding="utf-8")
    run(runner, "-p", project, "codebook", "load", yaml_file)
    before, db = yaml_file.read_bytes(), snapshot(project)
    result = run(runner, "-p", project, "codebook", "merge", "h", "--into", "parentcode", code=1)
    assert "'parentcode' is a folder code" in result.output
    assert yaml_file.read_bytes() == before and snapshot(project) == db


def test_rename_keeps_codings_and_memos(project: Path, runner) -> None:
    yaml_file = project / "codebook.yaml"
    with Project.open(project) as p:
        segment = p.segments("E1")[3]
        p.add_coding("alice", "E1", "h", start=segment.start, end=segment.end)
        p.add_memo("alice", "code", "h", text="a memo on h")
    result = run_json(runner, "-p", project, "codebook", "rename", "h", "fairs", "--label", "Foires", "--lang", "fr")
    assert result["codings"] == {"alice": 1}
    assert per_coder(project, "fairs") == {"alice": 1} and per_coder(project, "h") == {}
    book = parse_codebook(yaml_file.read_text(encoding="utf-8"))
    assert book.code("fairs").labels["fr"] == "Foires" and "h" not in book.code_ids()
    with Project.open(project) as p:
        assert [m.text for m in p.memos_about("code", "fairs")] == ["a memo on h"]
    result = run(runner, "-p", project, "codebook", "rename", "fairs", "a", code=1)
    assert "'a' is already a code" in result.output


# --------------------------------------------------------------------------- the browser route

def web_client(folder: Path, coder: str) -> tuple[TestClient, dict[str, str]]:
    web = TestClient(create_app(folder), base_url="http://127.0.0.1")
    csrf = web.get("/api/session").json()["csrf"]
    assert web.post("/api/session", json={"coder": coder}, headers={"X-CSRF-Token": csrf}).status_code == 200
    return web, {"X-CSRF-Token": csrf}


def test_api_creates_a_code_the_cli_then_shows(project: Path, runner) -> None:
    web, headers = web_client(project, "alice")
    answer = web.post("/api/codes", json={"id": "distributors", "label": "Distributeurs", "parent": "events",
                                          "definition": "Foreign distributors."}, headers=headers)
    assert answer.status_code == 201, answer.text
    assert answer.json()["id"] == "distributors" and answer.json()["category"] == "events"
    text = (project / "codebook.yaml").read_text(encoding="utf-8")
    assert "# qda: added by alice" in text and parse_codebook(text).code("distributors").definition
    assert "distributors" in [c["id"] for c in web.get("/api/codebook").json()["codes"]]
    assert "distributors" in shown_codes(run_json(runner, "-p", project, "codebook", "show"))
    segment = web.get("/api/documents/E1").json()["turns"][1]["segments"][0]
    coded = web.post("/api/codings", json={"document": "E1", "code": "distributors", "start": segment["start"],
                                           "end": segment["end"]}, headers=headers)
    assert coded.status_code == 201, coded.text

    bad = web.post("/api/codes", json={"id": "a", "label": "", "parent": "zzz"}, headers=headers)
    assert bad.status_code == 422
    assert len(bad.json()["problems"]) == 3 and "already a code" in bad.json()["problems"][0]
    extra = web.post("/api/codes", json={"id": "q", "label": "Q", "coder": "bob"}, headers=headers)
    assert extra.status_code == 422 and "unknown field" in extra.json()["error"]["message"]
    assert web.post("/api/codes", json={"id": "q", "label": "Q"}).status_code == 403  # no CSRF token


def test_rename_and_merge_from_the_page_are_the_leads(project: Path) -> None:
    with Project.open(project) as p:
        segments = [s for s in p.segments("E1") if s.role == "respondent"][:2]
        code_segments(p, "alice", "h", segments)
        code_segments(p, "bob", "i", segments[:1])
    web, headers = web_client(project, "alice")  # two coders with codings: blind
    refused = web.post("/api/codes/merge", json={"sources": ["i"], "into": "h"}, headers=headers)
    assert refused.status_code == 403 and per_coder(project, "i") == {"bob": 1}
    lead = TestClient(create_app(project, unblind=True), base_url="http://127.0.0.1")
    csrf = {"X-CSRF-Token": lead.get("/api/session").json()["csrf"]}
    assert lead.post("/api/session", json={"coder": "lead"}, headers=csrf).status_code == 200
    merged = lead.post("/api/codes/merge", json={"sources": ["i"], "into": "h"}, headers=csrf)
    assert merged.status_code == 200, merged.text
    assert merged.json()["codings"] == {"bob": 1} and per_coder(project, "h") == {"alice": 2, "bob": 1}
    renamed = lead.post("/api/codes/rename", json={"code": "h", "new": "fairs"}, headers=csrf)
    assert renamed.status_code == 200, renamed.text
    assert per_coder(project, "fairs") == {"alice": 2, "bob": 1}
    assert "fairs" in parse_codebook((project / "codebook.yaml").read_text(encoding="utf-8")).code_ids()
