"""Damage detected and named, read-only projects, full disks, concurrent writers,
backups, history and undo (issue 11)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

import qda.store as store_module
from qda import Project
from qda.errors import ProjectError
from qda.store import DB_NAME

from conftest import EXAMPLE, run, run_json, snapshot


@pytest.fixture
def study_copy(study_project: Path, tmp_path: Path) -> Path:
    """A private copy of the example project (three coders' codings), safe to damage."""
    target = tmp_path / "study"
    shutil.copytree(study_project, target, ignore=shutil.ignore_patterns("backups"))
    return target


def codings_of(folder: Path) -> list[tuple]:
    db = sqlite3.connect(folder / DB_NAME)
    try:
        return db.execute('SELECT co.name, c.key, k.document_id, k.start, k."end", k.note FROM codings k '
                          "JOIN coders co ON co.id=k.coder_id JOIN codes c ON c.id=k.code_id "
                          'ORDER BY 1, 2, 3, 4, 5').fetchall()
    finally:
        db.close()


# ----------------------------------------------------------------------------- damage


def test_an_empty_database_is_damaged_not_a_new_project(runner, small_project: Path) -> None:
    # Before: "the project has no codebook yet", as if it were new.
    (small_project / DB_NAME).write_bytes(b"")
    result = run(runner, "-p", small_project, "status", code=1)
    assert "damaged or empty" in result.output and "empty (0 bytes)" in result.output
    assert "no codebook" not in result.output
    assert "backup" in result.output


def test_a_foreign_file_is_named(runner, small_project: Path) -> None:
    (small_project / DB_NAME).write_text("these are my notes, not a database\n" * 50)
    result = run(runner, "-p", small_project, "status", code=1)
    assert "not an SQLite database" in result.output


def test_random_bytes_in_the_middle_are_detected(runner, study_copy: Path) -> None:
    # Before: `qda status` printed a normal status.
    db = study_copy / DB_NAME
    data = bytearray(db.read_bytes())
    middle = len(data) // 2 // 4096 * 4096
    data[middle:middle + 4096] = os.urandom(4096)
    db.write_bytes(bytes(data))
    result = run(runner, "-p", study_copy, "status", code=1)
    assert "damaged" in result.output
    assert "internal error" not in result.output


def test_check_passes_on_a_sound_project(runner, small_project: Path) -> None:
    report = run_json(runner, "-p", small_project, "check")
    assert report["status"] == "ok" and report["readonly"] is False
    assert "passed the integrity check" in run(runner, "-p", small_project, "check").output


def test_another_programs_sqlite_file_is_not_migrated(runner, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    other = sqlite3.connect(folder / DB_NAME)
    other.execute("CREATE TABLE photos (id INTEGER)")
    other.commit()
    other.close()
    result = run(runner, "-p", folder, "status", code=1)
    assert "not a qda project" in result.output
    assert sqlite3.connect(folder / DB_NAME).execute(
        "SELECT COUNT(*) FROM sqlite_master WHERE name='meta'").fetchone()[0] == 0


# ----------------------------------------------------------------------------- read-only, disk full


def test_a_read_only_project_can_be_read_but_not_written(runner, study_copy: Path, monkeypatch) -> None:
    # Before: `status` and `matrix` failed with "unable to open database file" on a
    # read-only mount. (Tests run as root, who can write anywhere: the check is patched.)
    monkeypatch.setattr(store_module, "_writable", lambda path: False)
    status = run_json(runner, "-p", study_copy, "status")
    assert status["documents"] == 10
    run(runner, "-p", study_copy, "matrix", "cross", "--by", "group", "--coder", "consensus")
    with Project.open(study_copy) as project:
        assert project._store.readonly
        assert project.check().readonly
    before = snapshot(study_copy)
    result = run(runner, "-p", study_copy, "code", "import", EXAMPLE / "coder-a.xlsx", "--coder", "z", code=1)
    assert "read-only" in result.output and "internal error" not in result.output
    assert snapshot(study_copy) == before


def test_immutable_fallback_reads_a_wal_project_whose_folder_cannot_be_written(study_copy: Path) -> None:
    # mode=ro cannot create the -shm file in a read-only folder; immutable=1 can read.
    db = store_module.Store._connect(study_copy / DB_NAME, readonly=True)
    try:
        assert db.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 10
    finally:
        db.close()


def test_disk_full_is_a_clear_error_and_changes_nothing(small_project: Path, tmp_path: Path) -> None:
    # Before: "internal error: disk is full" or "cannot rollback - no transaction is active".
    docs = tmp_path / "big"
    docs.mkdir()
    for i in range(3):
        (docs / f"Z{i}.txt").write_text(("Q : Une question assez longue pour remplir des pages ?\n"
                                         "R : Une réponse tout aussi longue, encore et encore.\n") * 400)
    before = snapshot(small_project)
    with Project.open(small_project) as project:
        pages = project._store.db.execute("PRAGMA page_count").fetchone()[0]
        project._store.db.execute(f"PRAGMA max_page_count={pages + 2}")  # the disk is "full"
        with pytest.raises(ProjectError, match="disk is full") as info:
            project.import_transcripts(sorted(docs.glob("*.txt")))
        assert "cannot rollback" not in str(info.value)
        assert project._store.db.in_transaction is False
    assert snapshot(small_project) == before


# ----------------------------------------------------------------------------- concurrent writers


def _hold_lock(folder: Path, seconds: float, done: threading.Event | None = None) -> threading.Thread:
    """Another writer holding the project's lock for ``seconds`` (or until ``done`` is set)."""
    holder = sqlite3.connect(folder / DB_NAME, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE meta SET value=value WHERE key='language'")

    def release() -> None:
        if done is None:
            time.sleep(seconds)
        else:
            done.wait(seconds)
        holder.execute("COMMIT")
        holder.close()

    thread = threading.Thread(target=release)
    thread.start()
    return thread


def test_a_writer_that_cannot_get_the_lock_says_so(runner, study_copy: Path, monkeypatch) -> None:
    # Before: internal error: OperationalError: database is locked.
    monkeypatch.setenv("QDA_LOCK_TIMEOUT", "0.2")
    done = threading.Event()
    thread = _hold_lock(study_copy, 120, done)
    try:
        result = run(runner, "-p", study_copy, "code", "import", EXAMPLE / "coder-b.xlsx",
                     "--coder", "coder-a", code=1)
    finally:
        done.set()
        thread.join()
    assert "another qda command is writing this project; try again" in result.output
    assert "internal error" not in result.output


def test_a_writer_waits_for_the_lock_then_lands(runner, study_copy: Path, monkeypatch) -> None:
    monkeypatch.setenv("QDA_LOCK_TIMEOUT", "20")
    expected = len([c for c in codings_of(study_copy) if c[0] == "coder-b"])
    thread = _hold_lock(study_copy, 0.5)
    try:
        run(runner, "-p", study_copy, "code", "import", EXAMPLE / "coder-b.xlsx", "--coder", "again")
    finally:
        thread.join()
    assert len([c for c in codings_of(study_copy) if c[0] == "again"]) == expected


# ----------------------------------------------------------------------------- backups, history, undo


def test_undo_brings_back_a_deleted_coders_codings(runner, study_copy: Path) -> None:
    original = codings_of(study_copy)
    coder_a = [c for c in original if c[0] == "coder-a"]
    assert coder_a
    result = run(runner, "-p", study_copy, "code", "delete-coder", "coder-a", "--yes")
    assert f"{len(coder_a)} coding(s)" in result.output
    assert not [c for c in codings_of(study_copy) if c[0] == "coder-a"]
    history = run_json(runner, "-p", study_copy, "history")["writes"]
    assert history[-1]["command"] == "delete coder coder-a"
    assert history[-1]["codings_before"]["coder-a"] == len(coder_a)
    assert "coder-a" not in history[-1]["codings_after"]
    # Without --yes it asks, and "n" changes nothing.
    from qda.cli import app

    asked = runner.invoke(app, ["-p", str(study_copy), "undo"], input="n\n")
    assert asked.exit_code == 1
    assert f"coder-a: {len(coder_a)} coding(s) in the snapshot (now 0)" in asked.output
    assert not [c for c in codings_of(study_copy) if c[0] == "coder-a"]
    run(runner, "-p", study_copy, "undo", "--yes")
    assert codings_of(study_copy) == original
    writes = run_json(runner, "-p", study_copy, "history")["writes"]
    assert writes[-2]["undone"] is True and writes[-1]["command"].startswith("undo delete coder")
    # The undo is not itself undone by a second undo: the next write is the shared fixture's
    # last one, whose snapshot this copy of the project left behind: named, never skipped.
    last = [w for w in writes if not w["command"].startswith("undo")][-2]["command"]
    result = run(runner, "-p", study_copy, "undo", "--yes", code=1)
    assert f"the next write to undo, '{last}'" in result.output
    assert "is no longer in backups/" in result.output


def test_undo_after_a_sheet_imported_over_a_coders_work(runner, study_copy: Path, tmp_path: Path) -> None:
    # Importing coder-b's sheet as coder-a by mistake replaces coder-a's codings.
    original = codings_of(study_copy)
    run(runner, "-p", study_copy, "code", "import", EXAMPLE / "coder-b.xlsx", "--coder", "coder-a")
    assert codings_of(study_copy) != original
    plan = run_json(runner, "-p", study_copy, "undo", "--yes")
    assert plan["write"]["command"].startswith("code import coder-b.xlsx --coder coder-a")
    assert codings_of(study_copy) == original


def test_a_failed_write_leaves_no_history_and_no_snapshot(runner, study_copy: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("segment,codes\nE1#1,no-such-code\n", encoding="utf-8")
    writes = run_json(runner, "-p", study_copy, "history")["writes"]
    assert {"codebook load communication-tools.yaml", "code import coder-a.xlsx --coder coder-a"} <= {
        w["command"] for w in writes}
    snapshots = run_json(runner, "-p", study_copy, "backup", "list")["snapshots"]
    run(runner, "-p", study_copy, "code", "import", bad, "--coder", "coder-a", code=1)
    assert run_json(runner, "-p", study_copy, "history")["writes"] == writes
    assert run_json(runner, "-p", study_copy, "backup", "list")["snapshots"] == snapshots


def test_backup_restore_by_name_and_keep_policy(runner, study_copy: Path) -> None:
    original = codings_of(study_copy)
    run(runner, "-p", study_copy, "backup", "config", "--keep", "2")
    for coder in ("x1", "x2", "x3"):
        run(runner, "-p", study_copy, "code", "import", EXAMPLE / "coder-b.xlsx", "--coder", coder)
    listed = run_json(runner, "-p", study_copy, "backup", "list")
    assert listed["keep"] == 2 and len(listed["snapshots"]) == 2
    assert listed["snapshots"][-1]["before"] == "code import coder-b.xlsx --coder x3"
    # The snapshot taken before x2 was imported: x1 only.
    name = listed["snapshots"][0]["name"]
    run(runner, "-p", study_copy, "backup", "restore", name, "--yes")
    coders = {c[0] for c in codings_of(study_copy)}
    assert "x1" in coders and "x2" not in coders and "x3" not in coders
    assert [c for c in codings_of(study_copy) if c[0] not in ("x1", "x2", "x3")] == original


def test_backup_restore_repairs_a_damaged_project(runner, study_copy: Path) -> None:
    original = codings_of(study_copy)
    run(runner, "-p", study_copy, "code", "delete-coder", "coder-b", "--yes")
    name = run_json(runner, "-p", study_copy, "backup", "list")["snapshots"][-1]["name"]
    (study_copy / DB_NAME).write_bytes(b"")
    for extra in ("-wal", "-shm"):
        (study_copy / (DB_NAME + extra)).unlink(missing_ok=True)
    result = run(runner, "-p", study_copy, "status", code=1)
    assert f"qda backup restore {name}" in result.output
    run(runner, "-p", study_copy, "backup", "restore", name, "--yes")
    assert codings_of(study_copy) == original
    assert list(study_copy.glob(f"{DB_NAME}.damaged-*"))


def test_unknown_backup_name_is_an_error(runner, small_project: Path) -> None:
    result = run(runner, "-p", small_project, "backup", "restore", "nope", "--yes", code=1)
    assert "no snapshot called 'nope'" in result.output


def test_safety_results_keep_the_result_contract(runner, study_copy: Path) -> None:
    from qda.results import Result, TableView

    run(runner, "-p", study_copy, "code", "delete-coder", "coder-b", "--yes")
    with Project.open(study_copy) as project:
        results = {"history": project.history(), "backup list": project.backup_list(),
                   "undo": project.undo_plan(), "check": project.check()}
        for command, result in results.items():
            assert isinstance(result, Result), command
            assert isinstance(result.to_table(), TableView), command
            assert json.loads(json.dumps(result.to_dict())) == result.to_dict(), command
            result.to_frame()
    for command in ("history", "check"):
        assert run_json(runner, "-p", study_copy, command) == results[command].to_dict()


def test_undo_warns_when_the_project_changed_after_the_write(runner, study_copy: Path, tmp_path: Path) -> None:
    run(runner, "-p", study_copy, "code", "delete-coder", "coder-b", "--yes")
    assert run_json(runner, "-p", study_copy, "undo", "--yes")["warnings"] == []
    run(runner, "-p", study_copy, "code", "delete-coder", "coder-a", "--yes")
    extra = tmp_path / "Z9.txt"
    extra.write_text("Q : Une question ?\nR : Une réponse.\n", encoding="utf-8")
    run(runner, "-p", study_copy, "import", "transcripts", extra)  # not a snapshotted write
    with Project.open(study_copy) as project:
        plan = project.undo_plan()
    assert plan.entry.command == "delete coder coder-a"
    assert any("changed after this write" in w for w in plan.warnings)


def test_two_writers_at_once_each_snapshot_the_state_just_before_their_own_write(study_copy: Path) -> None:
    # Before: the snapshot was taken before the write lock, so a command that landed in
    # between was in neither snapshot and an undo took it back too. Now each snapshot is
    # copied inside its write's transaction: the second writer's snapshot holds the first write.
    original = codings_of(study_copy)
    go = threading.Barrier(2)

    def delete(coder: str) -> None:
        with Project.open(study_copy) as project:
            go.wait()
            project.delete_coder(coder)

    threads = [threading.Thread(target=delete, args=(c,)) for c in ("coder-a", "coder-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Project.open(study_copy) as project:
        last, first = project.history().entries[-1], project.history().entries[-2]
        plan = project.undo_plan()
        assert plan.warnings == ()
        project.undo()
    gone_first = first.command.split()[-1]
    assert codings_of(study_copy) == [c for c in original if c[0] != gone_first]
    assert last.command != first.command


def test_undo_refuses_to_take_back_a_later_write_without_confirmation(runner, study_copy: Path,
                                                                       tmp_path: Path) -> None:
    run(runner, "-p", study_copy, "code", "delete-coder", "coder-b", "--yes")
    extra = tmp_path / "Z9.txt"
    extra.write_text("Q : Une question ?\nR : Une réponse.\n", encoding="utf-8")
    run(runner, "-p", study_copy, "import", "transcripts", extra)  # a write that takes no snapshot
    before = snapshot(study_copy)
    refused = run(runner, "-p", study_copy, "undo", "--yes", code=1)
    assert "would take back more than that write" in refused.output and "--include-others" in refused.output
    assert snapshot(study_copy) == before
    from qda.cli import app

    asked = runner.invoke(app, ["-p", str(study_copy), "undo"], input="n\n")
    assert asked.exit_code == 1 and "changed after this write" in asked.output
    assert snapshot(study_copy) == before
    run(runner, "-p", study_copy, "undo", "--yes", "--include-others")
    with Project.open(study_copy) as project:
        assert "Z9" not in [d.name for d in project._store.documents()]
        assert project._store.count_codings(coder="coder-b") > 0


def test_backup_restore_through_a_symlinked_project_file_restores_its_target(runner, study_copy: Path,
                                                                              tmp_path: Path) -> None:
    # Before: the link itself was moved aside and replaced by a plain file, so the real
    # database (on the disk the link pointed to) stayed damaged.
    elsewhere = tmp_path / "big-disk"
    elsewhere.mkdir()
    target = elsewhere / "study.qda"
    shutil.move(study_copy / DB_NAME, target)
    (study_copy / DB_NAME).symlink_to(target)
    original = codings_of(study_copy)
    run(runner, "-p", study_copy, "code", "delete-coder", "coder-b", "--yes")
    name = run_json(runner, "-p", study_copy, "backup", "list")["snapshots"][-1]["name"]
    target.write_bytes(b"")
    run(runner, "-p", study_copy, "status", code=1)
    run(runner, "-p", study_copy, "backup", "restore", name, "--yes")
    assert (study_copy / DB_NAME).is_symlink() and (study_copy / DB_NAME).resolve() == target
    assert codings_of(study_copy) == original
    assert list(elsewhere.glob("study.qda.damaged-*"))


def test_another_programs_sqlite_file_is_refused_without_being_switched_to_wal(runner, tmp_path: Path) -> None:
    folder = tmp_path / "foreign"
    folder.mkdir()
    db = sqlite3.connect(folder / DB_NAME)
    db.execute("CREATE TABLE notes (body TEXT)")
    db.commit()
    db.close()
    result = run(runner, "-p", folder, "status", code=1)
    assert "not a qda project" in result.output
    db = sqlite3.connect(folder / DB_NAME)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    db.close()
    assert sorted(p.name for p in folder.iterdir()) == [DB_NAME]


def test_a_file_where_the_backups_folder_goes_is_a_clear_error_and_nothing_is_written(runner,
                                                                                       study_copy: Path) -> None:
    shutil.rmtree(study_copy / "backups", ignore_errors=True)
    (study_copy / "backups").write_text("not a folder", encoding="utf-8")
    before = snapshot(study_copy)
    result = run(runner, "-p", study_copy, "code", "delete-coder", "coder-b", "--yes", code=1)
    assert "backups: cannot keep snapshots there: it is a file, not a folder" in result.output
    assert "internal error" not in result.output
    assert snapshot(study_copy) == before
