"""Every destructive write is undoable (issue 20 item 7, issue 16 item 1).

Each command and page action that replaces, edits or deletes data runs on a copy of the
example study; its history line must be there, and ``qda undo`` must bring back every row
of every table (the history itself aside, which records the undo) and the codebook file.
"""

from __future__ import annotations

import shutil
import sqlite3
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from qda.project import Project
from qda.web import create_app
from tests.conftest import CODEBOOK, EXAMPLE, ROOT, run, run_json

BASE = "http://127.0.0.1"


def all_tables(folder: Path) -> dict[str, list[tuple]]:
    """Every row of every table, the history aside (it records the write and its undo)."""
    db = sqlite3.connect(folder / "project.qda")
    try:
        names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
                 if n not in ("history", "history_sessions")]
        return {name: sorted(db.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr) for name in names}
    finally:
        db.close()


def differing(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> list[str]:
    return [name for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, study_project: Path) -> Path:
    """The study with its codebook file in the folder (codes can be added from it) and memos."""
    folder = tmp_path_factory.mktemp("undo") / "study"
    shutil.copytree(study_project, folder, ignore=shutil.ignore_patterns("backups"))
    with Project.open(folder) as project:
        project.add_memo("coder-a", "document", "E1", text="a first reading of E1")
        project.add_memo("coder-a", "code", "a", text="what counts as social media")
        coding = project.codings("coder-a")[0]
        project.change_coding("coder-a", coding.id, {"memo": "a note on this passage"})
    # a command after those page edits: the next page edit opens a history line of its own
    shutil.copy(CODEBOOK, folder / "codebook.yaml")
    run(CliRunner(), "-p", folder, "codebook", "load", folder / "codebook.yaml")
    return folder


@pytest.fixture
def study(base: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    shutil.copytree(base, folder)
    return folder


def page(folder: Path, coder: str = "coder-a") -> tuple[TestClient, dict[str, str]]:
    web = TestClient(create_app(folder, unblind=True), base_url=BASE)
    headers = {"X-CSRF-Token": web.get("/api/session").json()["csrf"]}
    assert web.post("/api/session", json={"coder": coder}, headers=headers).status_code == 200
    return web, headers


def first_coding(folder: Path, coder: str = "coder-a") -> int:
    with Project.open(folder) as project:
        return project.codings(coder)[0].id


def memo_id(folder: Path) -> int:
    with Project.open(folder) as project:
        return project.memos_about("document", "E1")[0].id


def ok(answer) -> None:
    assert answer.status_code in (200, 201), answer.text


# ----------------------------------------------------------------------------- the writes
def cli(*args: object) -> Callable[[Path, Path], object]:
    return lambda folder, tmp: run(CliRunner(),
                                   "-p", folder, *[a(tmp) if callable(a) else a for a in args])


def revised_transcript(tmp: Path) -> Path:
    path = tmp / "E1.txt"
    text = (EXAMPLE / "transcripts" / "E1.txt").read_text(encoding="utf-8")
    path.write_text(text.replace("Ben, ça a commencé", "Alors, ça a commencé"), encoding="utf-8")
    return path


def revised_codebook(tmp: Path) -> Path:
    path = tmp / "book.yaml"
    text = CODEBOOK.read_text(encoding="utf-8")
    path.write_text(text.replace("to reach customers.", "to reach its customers.", 1), encoding="utf-8")
    return path


def revised_profiles(tmp: Path) -> Path:
    path = tmp / "profiles.csv"
    path.write_text((EXAMPLE / "profiles.csv").read_text(encoding="utf-8").replace("E1,entry,4", "E1,entry,5"),
                    encoding="utf-8")
    return path


def relabelled_qdc(folder: Path, tmp: Path) -> Path:
    """The project's codebook as .qdc with one label changed (a codebook from another tool)."""
    qdc = tmp / "book.qdc"
    run(CliRunner(), "-p", folder, "codebook", "export", qdc)
    xml = qdc.read_text(encoding="utf-8")
    start = xml.index('name="', xml.index("<Code ")) + len('name="')
    qdc.write_text(xml[:start] + "Relabelled " + xml[start:], encoding="utf-8")
    return qdc


def codes_swapped_qdpx(folder: Path, tmp: Path) -> Path:
    """The project as .qdpx, in which two codings of coder-a swapped their codes (the
    issue's case: counts, ids and offsets all equal, only the code ids moved)."""
    twin = tmp / "twin"
    shutil.copytree(folder, twin, ignore=shutil.ignore_patterns("backups"))
    db = sqlite3.connect(twin / "project.qda")
    with db:
        rows = db.execute("SELECT k.id, k.code_id FROM codings k JOIN coders c ON c.id = k.coder_id "
                          "WHERE c.name = 'coder-a' ORDER BY k.id").fetchall()
        first = rows[0]
        second = next(r for r in rows if r[1] != first[1])
        db.execute("UPDATE codings SET code_id=? WHERE id=?", (second[1], first[0]))
        db.execute("UPDATE codings SET code_id=? WHERE id=?", (first[1], second[0]))
    db.close()
    qdpx = tmp / "swapped.qdpx"
    run(CliRunner(), "-p", twin, "export", "qdpx", qdpx)
    assert zipfile.is_zipfile(qdpx)
    return qdpx


def page_delete(folder: Path, tmp: Path) -> None:
    web, headers = page(folder)
    ok(web.delete(f"/api/codings/{first_coding(folder)}", headers=headers))


def page_move_span(folder: Path, tmp: Path) -> None:
    web, headers = page(folder)
    number = first_coding(folder)
    coding = web.get(f"/api/codings/{number}").json()
    ok(web.patch(f"/api/codings/{number}", json={"start": coding["start"] + 1, "end": coding["end"] - 1},
                 headers=headers))


def page_change_code(folder: Path, tmp: Path) -> None:
    web, headers = page(folder)
    number = first_coding(folder)
    current = web.get(f"/api/codings/{number}").json()["code"]
    ok(web.patch(f"/api/codings/{number}", json={"code": "a" if current != "a" else "b"},
                 headers=headers))


def page_change_note(folder: Path, tmp: Path) -> None:
    web, headers = page(folder)
    ok(web.patch(f"/api/codings/{first_coding(folder)}", json={"memo": "changed my mind"}, headers=headers))


def page_edit_memo(folder: Path, tmp: Path) -> None:
    web, headers = page(folder)
    ok(web.patch(f"/api/memos/{memo_id(folder)}", json={"text": "a second reading"}, headers=headers))


def page_delete_memo(folder: Path, tmp: Path) -> None:
    web, headers = page(folder)
    ok(web.delete(f"/api/memos/{memo_id(folder)}", headers=headers))


def page_adjudicate(folder: Path, tmp: Path) -> None:
    web, headers = page(folder, "lead")
    view = web.get("/api/compare?a=coder-a&b=coder-b").json()
    decisions = [{"region": r["key"], "decision": "both"} for r in view["regions"]]
    ok(web.post("/api/adjudicate", json={"a": "coder-a", "b": "coder-b", "as": "consensus", "replace": True,
                                         "decisions": decisions}, headers=headers))


def page_new_code(folder: Path, tmp: Path) -> None:
    web, headers = page(folder)
    ok(web.post("/api/codes", json={"id": "distributors", "label": "Distributors", "parent": "events"},
                headers=headers))


WRITES: dict[str, tuple[Callable[[Path, Path], object], str]] = {
    "code import": (cli("code", "import", EXAMPLE / "coder-b.xlsx", "--coder", "coder-a"), "code import"),
    "code adjudicate --replace": (cli("code", "adjudicate", EXAMPLE / "adjudication.xlsx", "--coder", "consensus",
                                      "--replace"), "adjudicate adjudication.xlsx"),
    "code auto": (cli("code", "auto", "--coder", "coder-b"), "code auto --coder coder-b"),
    "code delete-coder": (cli("code", "delete-coder", "coder-b", "--yes"), "delete coder coder-b"),
    "import transcripts --replace": (cli("import", "transcripts", revised_transcript, "--replace"),
                                     "import transcripts --replace"),
    "import qdpx (codes moved)": (lambda f, t: cli("import", "qdpx", codes_swapped_qdpx(f, t))(f, t),
                                  "import qdpx swapped.qdpx"),
    "import cases": (cli("import", "cases", revised_profiles), "import cases profiles.csv"),
    "speakers --set-role": (cli("speakers", "--set-role", "Intervieweur=moderator"), "speakers --set-role"),
    "document delete": (cli("document", "delete", "E2", "--yes"), "document delete E2"),
    "document resplit": (cli("document", "resplit", "E1", "--unit", "paragraph"), "document resplit E1"),
    "codebook load": (cli("codebook", "load", revised_codebook), "codebook load book.yaml"),
    "codebook import": (lambda f, t: cli("codebook", "import", relabelled_qdc(f, t))(f, t),
                        "codebook import book.qdc"),
    "codebook add": (cli("codebook", "add", "distributors", "--label", "Distributeurs", "--parent", "events"),
                     "codebook add distributors"),
    "codebook rename": (cli("codebook", "rename", "h", "trade-fairs"), "codebook rename h trade-fairs"),
    "codebook merge": (cli("codebook", "merge", "i", "--into", "h"), "codebook merge i --into h"),
    "page: delete a coding": (page_delete, "page edits by coder-a: 1 deletion"),
    "page: move a span": (page_move_span, "page edits by coder-a: 1 edit"),
    "page: change a code": (page_change_code, "page edits by coder-a: 1 edit"),
    "page: change a note": (page_change_note, "page edits by coder-a: 1 edit"),
    "page: edit a memo": (page_edit_memo, "page edits by coder-a: 1 memo edit"),
    "page: delete a memo": (page_delete_memo, "page edits by coder-a: 1 memo deletion"),
    "page: record decisions": (page_adjudicate, "adjudicate in the browser coder-a coder-b --coder consensus"),
    "page: new code": (page_new_code, "codebook add distributors"),
}


@pytest.mark.parametrize("name", list(WRITES))
def test_every_destructive_write_is_in_the_history_and_undone_exactly(name: str, study: Path, runner,
                                                                      tmp_path: Path) -> None:
    action, command = WRITES[name]
    before, book = all_tables(study), (study / "codebook.yaml").read_bytes()
    history = run_json(runner, "-p", study, "history")["writes"]
    action(study, tmp_path)
    changed = differing(before, all_tables(study))
    assert changed, f"{name} changed nothing"
    writes = run_json(runner, "-p", study, "history")["writes"]
    assert len(writes) == len(history) + 1, [w["command"] for w in writes]
    assert writes[-1]["command"].startswith(command), writes[-1]["command"]
    assert writes[-1]["snapshot"] and (study / "backups" / writes[-1]["snapshot"]).is_file()
    undone = run_json(runner, "-p", study, "undo", "--yes")
    assert undone["write"]["command"] == writes[-1]["command"]
    assert [w for w in undone["warnings"] if not w.endswith("restored too, as it was before that write")] == []
    after = all_tables(study)
    assert differing(before, after) == [], f"{name}: undo left {differing(before, after)} different"
    assert (study / "codebook.yaml").read_bytes() == book


# ----------------------------------------------------------------------------- page edits grouped per session
def history_of(folder: Path) -> list[dict]:
    return run_json(CliRunner(), "-p", folder, "history")["writes"]


def test_page_edits_of_a_session_are_one_history_line_with_one_snapshot(study: Path) -> None:
    web, headers = page(study)
    before = all_tables(study)
    lines, snapshots = len(history_of(study)), len(list((study / "backups").glob("*.qda")))
    ids = [c.id for c in Project.open(study).codings("coder-a")[:5]]
    deleted = []
    for number in ids[:3]:
        answer = web.delete(f"/api/codings/{number}", headers=headers)
        ok(answer)
        deleted.append(answer.json())
    for number in ids[3:]:
        ok(web.patch(f"/api/codings/{number}", json={"memo": "later"}, headers=headers))
    seg = Project.open(study).segments(document="E3")[2]
    ok(web.post("/api/codings", json={"document": "E3", "code": "a", "start": seg.start, "end": seg.end},
                headers=headers))
    writes = history_of(study)
    assert len(writes) == lines + 1
    assert writes[-1]["command"] == "page edits by coder-a: 3 deletions, 2 edits, 1 addition"
    assert writes[-1]["page_edits_by"] == "coder-a"
    assert writes[-1]["page_edits"] == {"deleted": 3, "edited": 2, "added": 1}
    assert writes[-1]["codings_after"]["coder-a"] == writes[-1]["codings_before"]["coder-a"] - 2
    assert len(list((study / "backups").glob("*.qda"))) == snapshots + 1  # one snapshot, not six
    # the page's own Ctrl+Z of a deletion stores the coding again: it still works, in the same line
    gone = deleted[-1]
    ok(web.post("/api/codings", json={k: gone[k] for k in ("document", "code", "start", "end")}, headers=headers))
    writes = history_of(study)
    assert writes[-1]["command"] == "page edits by coder-a: 3 deletions, 2 edits, 2 additions"
    assert len(writes) == lines + 1
    run(CliRunner(), "-p", study, "undo", "--yes")
    assert differing(before, all_tables(study)) == []


def test_an_addition_alone_opens_no_history_line(study: Path) -> None:
    web, headers = page(study)
    lines = len(history_of(study))
    seg = Project.open(study).segments(document="E3")[2]
    ok(web.post("/api/codings", json={"document": "E3", "code": "a", "start": seg.start, "end": seg.end},
                headers=headers))
    ok(web.post("/api/memos", json={"about": "document", "target": "E3", "text": "new"}, headers=headers))
    assert len(history_of(study)) == lines


def test_a_command_in_between_starts_a_new_page_line(study: Path) -> None:
    web, headers = page(study)
    ids = [c.id for c in Project.open(study).codings("coder-a")[:2]]
    ok(web.delete(f"/api/codings/{ids[0]}", headers=headers))
    run(CliRunner(), "-p", study, "speakers", "--set-role", "Intervieweur=moderator")
    ok(web.delete(f"/api/codings/{ids[1]}", headers=headers))
    commands = [w["command"] for w in history_of(study)][-3:]
    assert commands == ["page edits by coder-a: 1 deletion", "speakers --set-role Intervieweur=moderator",
                        "page edits by coder-a: 1 deletion"]


def test_an_idle_session_ends(study: Path, monkeypatch) -> None:
    import qda.store as store_module

    web, headers = page(study)
    ids = [c.id for c in Project.open(study).codings("coder-a")[:2]]
    ok(web.delete(f"/api/codings/{ids[0]}", headers=headers))
    monkeypatch.setattr(store_module, "PAGE_SESSION_IDLE_MINUTES", 0)
    ok(web.delete(f"/api/codings/{ids[1]}", headers=headers))
    assert [w["command"] for w in history_of(study)][-2:] == ["page edits by coder-a: 1 deletion"] * 2


def test_undoing_a_session_another_user_worked_in_says_so_and_needs_confirmation(study: Path) -> None:
    alice, alice_headers = page(study, "coder-a")
    bob, bob_headers = page(study, "coder-b")
    a_ids = [c.id for c in Project.open(study).codings("coder-a")[:2]]
    b_ids = [c.id for c in Project.open(study).codings("coder-b")[:2]]
    ok(alice.delete(f"/api/codings/{a_ids[0]}", headers=alice_headers))
    ok(bob.delete(f"/api/codings/{b_ids[0]}", headers=bob_headers))  # bob's own line, after alice's snapshot
    ok(alice.delete(f"/api/codings/{a_ids[1]}", headers=alice_headers))  # alice's line goes on
    seg = Project.open(study).segments(document="E3")[4]
    ok(bob.post("/api/codings", json={"document": "E3", "code": "b", "start": seg.start, "end": seg.end},
                headers=bob_headers))  # joins bob's line
    writes = history_of(study)
    assert [w["command"] for w in writes[-2:]] == ["page edits by coder-a: 2 deletions",
                                                   "page edits by coder-b: 1 deletion, 1 addition"]
    # the last line is bob's; alice deleted after bob's snapshot: undo says so and refuses with --yes
    with Project.open(study) as project:
        plan = project.undo_plan()
    assert plan.entry.command.startswith("page edits by coder-b")
    assert any("page edits by coder-a" in w for w in plan.warnings)
    before = all_tables(study)
    refused = run(CliRunner(), "-p", study, "undo", "--yes", code=1)
    assert "would take back more than that write" in refused.output and "coder-a" in refused.output
    assert all_tables(study) == before
    # confirmed: bob's line undone (alice's second deletion with it, as announced)
    run(CliRunner(), "-p", study, "undo", "--yes", "--include-others")
    with Project.open(study) as project:
        assert project.coding_by_id(b_ids[0]) is not None and project.coding_by_id(a_ids[1]) is not None
        # alice's line next: its snapshot holds everything before her first deletion
        plan = project.undo_plan()
    assert plan.entry.command == "page edits by coder-a: 2 deletions"


def test_undoing_a_session_names_another_users_additions(study: Path) -> None:
    alice, alice_headers = page(study, "coder-a")
    bob, bob_headers = page(study, "coder-b")
    ok(alice.delete(f"/api/codings/{first_coding(study)}", headers=alice_headers))
    seg = Project.open(study).segments(document="E3")[4]
    ok(bob.post("/api/codings", json={"document": "E3", "code": "b", "start": seg.start, "end": seg.end},
                headers=bob_headers))  # an addition: no line of bob's
    ok(alice.patch(f"/api/codings/{first_coding(study)}", json={"memo": "x"}, headers=alice_headers))
    with Project.open(study) as project:
        plan = project.undo_plan()
    assert plan.entry.command == "page edits by coder-a: 1 deletion, 1 edit"
    assert any(w.startswith("coder-b's codings changed") and "1 new or edited" in w for w in plan.warnings)


# ----------------------------------------------------------------------------- undo never skips silently
def test_undo_names_the_write_whose_snapshot_is_gone(study: Path) -> None:
    run(CliRunner(), "-p", study, "code", "delete-coder", "coder-b", "--yes")
    last = history_of(study)[-1]
    (study / "backups" / last["snapshot"]).unlink()
    result = run(CliRunner(), "-p", study, "undo", "--yes", code=1)
    assert "the next write to undo, 'delete coder coder-b'" in result.output
    assert "no longer in backups/" in result.output


def test_an_unreadable_snapshot_is_reported_unreadable_not_as_zero_codings(study: Path) -> None:
    run(CliRunner(), "-p", study, "code", "delete-coder", "coder-b", "--yes")
    last = history_of(study)[-1]
    (study / "backups" / last["snapshot"]).write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    result = run(CliRunner(), "-p", study, "undo", "--yes", code=1)
    assert "'delete coder coder-b'" in result.output and "unreadable" in result.output
    assert "0 coding" not in result.output


def test_undo_on_a_read_only_project_says_read_only(study: Path, monkeypatch) -> None:
    import qda.store as store_module

    run(CliRunner(), "-p", study, "code", "delete-coder", "coder-b", "--yes")
    monkeypatch.setattr(store_module, "_writable", lambda path: False)
    result = run(CliRunner(), "-p", study, "undo", "--yes", code=1)
    assert "read-only" in result.output and "damaged" not in result.output


# ----------------------------------------------------------------------------- the snapshot cap and the keep policy
def test_over_the_snapshot_cap_a_write_is_refused_unless_no_snapshot(study: Path) -> None:
    with Project.open(study) as project:
        project.set_backup_policy(max_mb=1, confirmed=True)
    db = sqlite3.connect(study / "project.qda")
    with db:  # a project just over 1 MB
        db.execute("INSERT INTO meta(key, value) VALUES ('padding', ?)", ("x" * 1024 ** 2,))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    assert (study / "project.qda").stat().st_size > 1024 ** 2
    before = all_tables(study)
    refused = run(CliRunner(), "-p", study, "code", "delete-coder", "coder-b", "--yes", code=1)
    assert "larger than the snapshot cap" in refused.output and "--no-snapshot" in refused.output
    assert all_tables(study) == before
    run(CliRunner(), "-p", study, "--no-snapshot", "code", "delete-coder", "coder-b", "--yes")
    last = history_of(study)[-1]
    assert last["command"] == "delete coder coder-b" and last["snapshot"] == ""
    result = run(CliRunner(), "-p", study, "undo", "--yes", code=1)
    assert "'delete coder coder-b'" in result.output and "without a snapshot" in result.output


def test_a_smaller_keep_asks_before_deleting_snapshots(study: Path) -> None:
    for coder in ("x1", "x2", "x3"):
        run(CliRunner(), "-p", study, "code", "import", EXAMPLE / "coder-b.xlsx", "--coder", coder)
    files = sorted(p.name for p in (study / "backups").glob("*.qda"))
    assert len(files) >= 4
    from qda.cli import app

    asked = CliRunner().invoke(app, ["-p", str(study), "backup", "config", "--keep", "1"], input="n\n")
    assert asked.exit_code == 1 and f"these limits delete {len(files) - 1} snapshot(s)" in asked.output
    assert sorted(p.name for p in (study / "backups").glob("*.qda")) == files
    assert run_json(CliRunner(), "-p", study, "backup", "list")["keep"] == 20
    run(CliRunner(), "-p", study, "backup", "config", "--keep", "1", "--yes")
    assert sorted(p.name for p in (study / "backups").glob("*.qda")) == files[-1:]


def test_a_write_whose_history_line_cannot_be_written_is_not_written(study: Path, monkeypatch) -> None:
    # Before: the history line was written after COMMIT, and a failure there was swallowed:
    # the write stayed, outside the history. Now both are one transaction.
    import qda.store as store_module

    def broken(*args: object, **kwargs: object) -> None:
        raise store_module.ProjectError("the history line could not be written")

    before, lines = all_tables(study), history_of(study)
    snapshots = sorted((study / "backups").glob("*.qda"))
    monkeypatch.setattr(store_module.Backups, "_insert", broken)
    with Project.open(study) as project:
        with pytest.raises(store_module.ProjectError):
            project.delete_coder("coder-b")
        with pytest.raises(store_module.ProjectError):
            project.remove_coding("coder-a", project.codings("coder-a")[0].id)
    assert all_tables(study) == before and history_of(study) == lines
    assert sorted((study / "backups").glob("*.qda")) == snapshots  # their snapshots were dropped


def test_over_the_snapshot_cap_a_page_deletion_is_refused_with_what_to_do(study: Path) -> None:
    with Project.open(study) as project:
        project.set_backup_policy(max_mb=1, confirmed=True)
    db = sqlite3.connect(study / "project.qda")
    with db:
        db.execute("INSERT INTO meta(key, value) VALUES ('padding', ?)", ("x" * 1024 ** 2,))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    web, headers = page(study)
    before = all_tables(study)
    refused = web.delete(f"/api/codings/{first_coding(study)}", headers=headers)
    assert refused.status_code == 422 and "larger than the snapshot cap" in refused.json()["error"]["message"]
    assert "qda backup config --max-mb" in refused.json()["problems"][0]
    assert all_tables(study) == before


@pytest.mark.parametrize("change", [
    "UPDATE codings SET code_id = (SELECT MAX(id) FROM codes) WHERE id = (SELECT MIN(id) FROM codings)",
    "UPDATE notes SET text = text || '.' WHERE id = (SELECT MIN(id) FROM notes)",
    "UPDATE case_attributes SET value = value || '+' WHERE rowid = (SELECT MIN(rowid) FROM case_attributes)",
    "UPDATE speakers SET role = 'someone else' WHERE id = (SELECT MIN(id) FROM speakers)",
    "UPDATE codes SET labels = replace(labels, 'a', 'o') WHERE id = (SELECT MIN(id) FROM codes)",
    "UPDATE codings SET note = 'x' || note WHERE id = (SELECT MIN(id) FROM codings)",
])
def test_the_change_fingerprint_covers_every_column(base: Path, change: str) -> None:
    from qda.store import content_digest

    db = sqlite3.connect(base / "project.qda")
    try:
        before = content_digest(db)
        db.execute("BEGIN")
        db.execute(change)
        assert content_digest(db) != before
        db.execute("ROLLBACK")
        assert content_digest(db) == before
    finally:
        db.close()


def test_a_revised_uncoded_transcript_is_undoable_too(study: Path, tmp_path: Path) -> None:
    # Without codings a changed text replaces the stored one with no --replace: that too is
    # in the history, and undo brings the first text back.
    path = tmp_path / "Z9.txt"
    path.write_text("Q : Une question ?\nR : Une réponse.\n", encoding="utf-8")
    run(CliRunner(), "-p", study, "import", "transcripts", path)
    lines = history_of(study)
    before = all_tables(study)
    path.write_text("Q : Une question ?\nR : Une autre réponse.\n", encoding="utf-8")
    run(CliRunner(), "-p", study, "import", "transcripts", path)
    assert [w["command"] for w in history_of(study)] == [w["command"] for w in lines] + ["import transcripts"]
    run(CliRunner(), "-p", study, "undo", "--yes")
    assert differing(before, all_tables(study)) == []


def test_a_kill_while_the_history_line_is_written_leaves_neither_write_nor_line(study: Path, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    marker = tmp_path / "inside"
    script = f"""
import time
from pathlib import Path
import qda.store as store
from qda.project import Project

real = store.Backups._insert
def slow(self, *args, **kwargs):
    real(self, *args, **kwargs)
    Path({str(marker)!r}).write_text("now")
    time.sleep(60)
store.Backups._insert = slow
with Project.open({str(study)!r}) as project:
    project.delete_coder("coder-b")
"""
    before, lines = all_tables(study), history_of(study)
    child = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None and time.monotonic() < deadline, "the write never reached its history line"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)  # the data and the line are written, COMMIT not yet
    finally:
        child.wait()
    assert all_tables(study) == before and history_of(study) == lines


def test_an_account_added_after_a_write_does_not_block_its_undo(study: Path) -> None:
    run(CliRunner(), "-p", study, "code", "delete-coder", "coder-b", "--yes")
    with Project.open(study) as project:
        project.add_user("alice", "correct horse battery staple")
        assert project.undo_plan().warnings == ()
        project.undo()
        assert project.users() == ["alice"]  # undo leaves the accounts as they are


def test_a_snapshot_of_an_older_schema_is_brought_up_to_date_when_restored(study: Path) -> None:
    from qda.store import MIGRATIONS

    before = all_tables(study)
    run(CliRunner(), "-p", study, "code", "delete-coder", "coder-b", "--yes")
    snapshot_file = study / "backups" / history_of(study)[-1]["snapshot"]
    old = sqlite3.connect(snapshot_file)
    with old:  # as a qda of one migration ago wrote it
        old.execute("DROP TABLE history_sessions")
        old.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(len(MIGRATIONS) - 1),))
    old.close()
    run(CliRunner(), "-p", study, "undo", "--yes")
    assert differing(before, all_tables(study)) == []
