"""``qda suggest run`` from the score cache (qda/suggest/hits.py) stores what scoring stores.

The fast run reads the model's info, the cache and the suggested segments only; it is checked
against ``plan_run`` (the run that loads the model and reads every segment) with the cache and
with the scores computed again from the features, and against ``segment_columns``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qda.models import CodingScope, WritePlan
from qda.project import Project
from qda.suggest.hits import PlannedRun, plan_cached_run
from qda.suggest.suggester import load_model, plan_run

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def trained(study_project: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    shutil.copytree(study_project, folder)
    with Project.open(folder) as project:
        project.suggest_train("consensus", seed=1, bootstrap=0, evaluate=False)
    return folder


def rows(run: PlannedRun) -> dict[str, list[tuple[int, int, int, float]]]:
    return dict(run.rows())


def stored(project: Project, coder: str) -> list[tuple]:
    return sorted((c.id, c.code, c.document, c.segment, c.start, c.end, c.score, c.created_at, c.origin, c.status)
                  for c in project._store.codings(coder=coder))


SCOPES = [(None, None), (["h"], None), (["h", "a"], None), (None, ["E3", "E1"]), (["h"], ["E2", "E2"])]


@pytest.mark.parametrize(("codes", "documents"), SCOPES)
def test_the_cached_run_equals_plan_run_with_the_cache_and_with_scores_computed_again(
        trained: Path, codes: list[str] | None, documents: list[str] | None) -> None:
    with Project.open(trained) as project:
        store = project._store
        fast = plan_cached_run(store, None, codes=codes, documents=documents)
        assert fast is not None and not fast.fresh
        model, _ = load_model(store, None)
        cached = plan_run(store, model, codes=codes, documents=documents)  # main's path: every segment read
        assert fast.report == cached.report and fast.segments == cached.segments
        assert fast.documents == cached.documents and (fast.coder, fast.origin) == (cached.coder, cached.origin)
        assert rows(fast) == rows(cached) and dict(fast.segment_ids()) == dict(cached.segment_ids())
        store.db.execute("DELETE FROM suggest_scores")  # no cache: the scores come from the features
        assert plan_cached_run(store, None, codes=codes, documents=documents) is None
        scored = plan_run(store, model, codes=codes, documents=documents)
    assert fast.report == scored.report
    assert sum(fast.report.counts.values()) > 0
    for code, (at, values) in fast.hits.items():
        again_at, again = scored.suggestions.hits[code]
        # the cache keeps the scores training computed on the same features: equal but for the last bits
        assert [fast.ids[i] for i in at] == scored.corpus.ids[again_at].tolist()
        assert np.abs(np.asarray(values) - again).max(initial=0) <= 1e-12
    assert rows(fast) == rows(scored)


def test_an_uncoded_run_from_the_cache_equals_plan_runs(trained: Path) -> None:
    with Project.open(trained) as project:
        store = project._store
        model, _ = load_model(store, None)
        for documents in ((), ("E1", "E4")):  # the consensus coded every document; then not these two
            if documents:
                project.commit(WritePlan(replace=(CodingScope("consensus", documents=documents),)))
            fast = plan_cached_run(store, None, uncoded=True)
            full = plan_run(store, model, uncoded=True)
            assert fast is not None and fast.report == full.report and fast.documents == full.documents
            assert rows(fast) == rows(full)
            assert fast.documents == documents and (sum(fast.report.counts.values()) > 0) == bool(documents)
            # --document wins over --uncoded, as in plan_run
            assert rows(plan_cached_run(store, None, documents=["E2"], uncoded=True)) == rows(  # type: ignore[arg-type]
                plan_run(store, model, documents=["E2"], uncoded=True))


def test_the_cached_run_leaves_to_plan_run_what_it_cannot_answer(trained: Path) -> None:
    with Project.open(trained) as project:
        store = project._store
        assert plan_cached_run(store, None, codes=["no-such-code"]) is None  # plan_run names the trained codes
        with pytest.raises(Exception, match="no classifier for no-such-code"):
            project.suggest_run(codes=["no-such-code"])
        with pytest.raises(Exception, match="unknown document"):
            plan_cached_run(store, None, documents=["E1", "nowhere"])
        store.db.execute("UPDATE suggest_scores SET scores=zeroblob(8) WHERE code='h'")  # not of this format
        assert plan_cached_run(store, None, codes=["h"]) is None
        assert plan_cached_run(store, None, codes=["a"]) is not None


def test_segments_at_gives_segment_columns_rows_also_when_ordinals_have_gaps(trained: Path) -> None:
    with Project.open(trained) as project:
        store = project._store
        rng = np.random.default_rng(3)
        for gaps in (False, True):
            if gaps:  # E2's segments from the fifth on move up: its positions are no longer its ordinals
                store.db.execute("UPDATE segments SET ordinal=ordinal+1000 WHERE ordinal>=4 AND document_id="
                                 "(SELECT id FROM documents WHERE name='E2')")
            columns = store.segment_columns()
            total = len(columns["id"])
            assert [n for _name, n in store.segment_runs()] == [
                columns["document"].count(name) for name in dict.fromkeys(columns["document"])]
            positions = rng.integers(0, total, 300).tolist() + [0, total - 1, 5, 5]
            found = store.segments_at(positions)
            assert found == {key: [columns[key][i] for i in positions] for key in ("id", "start", "end")}
            assert store.segments_at([]) == {"id": [], "start": [], "end": []}
            with pytest.raises(IndexError):
                store.segments_at([total])
            with pytest.raises(IndexError):
                store.segments_at([3, -1])


def test_a_run_that_changes_nothing_takes_no_snapshot_and_undo_restores_a_run_exactly(trained: Path) -> None:
    with Project.open(trained) as project:
        coder = project.review_models()[-1]["machine_coder"]
        first = project.suggest_run()
        assert project.history().entries[-1].command == f"suggest run --model {coder}"
        after_first = stored(project, coder)
        lines, snapshots = len(project.history().entries), len(project._store.backups.files())
        state = project._store.state_signature()
        again = project.suggest_run(codes=["h"])
        assert again.counts["h"] == first.counts["h"] and again.replaced == 0
        # the same suggestions: nothing written, no line, no snapshot copied
        assert len(project.history().entries) == lines and len(project._store.backups.files()) == snapshots
        assert project._store.state_signature() == state and stored(project, coder) == after_first
        # some "h" suggestions deleted by hand (as a review might): the run brings them back, recorded
        gone = [c for c in project._store.codings(coder=coder) if c.code == "h"][:3]
        for coding in gone:
            project._store.delete_coding(coding.id or 0)
        project.commit(WritePlan(replace=(CodingScope(coder, codes=("a",)),)))  # and "a" removed whole
        before_run = stored(project, coder)
        ran = project.suggest_run(codes=["h", "a"])
        assert ran.replaced == 0 and len(project.history().entries) == lines + 1
        assert {c[3] for c in stored(project, coder) if c[1] == "h"} == {c[3] for c in after_first if c[1] == "h"}
        project.undo()
        assert stored(project, coder) == before_run  # ids, dates, scores: exactly as before the run
        project.undo(include_others=True)  # the hand edits were not recorded: taken back with it
        assert not project._store.codings(coder=coder)  # the first run taken back too


def test_new_rows_find_their_documents_whether_looked_up_or_read_whole(trained: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import qda.store

    results = []
    for limit in (20000, 0):
        monkeypatch.setattr(qda.store, "_FEW_SEGMENTS", limit)
        with Project.open(trained) as project:
            coder = project.review_models()[-1]["machine_coder"]
            project.suggest_run(codes=["h"])
            results.append(sorted((c.code, c.document, c.segment, c.start, c.end, c.score)
                                  for c in project._store.codings(coder=coder)))
            project.undo()
    assert results[0] == results[1] and results[0]
    assert all(segment.startswith(document + "#") for _c, document, segment, *_ in results[0])


#: A CLI command in a fresh process; which of scipy, scikit-learn and numpy it imported, on stderr.
CHILD = """
import atexit, json, runpy, sys
atexit.register(lambda: sys.stderr.write("\\nMODULES " + json.dumps(
    sorted(m for m in ("scipy", "sklearn", "numpy") if m in sys.modules)) + "\\n"))
sys.argv = ["qda", *sys.argv[1:]]
runpy.run_module("qda", run_name="__main__")
"""


def test_a_run_from_the_cache_imports_neither_scipy_nor_scikit_learn_nor_numpy(trained: Path) -> None:
    done = subprocess.run([sys.executable, "-c", CHILD, "-p", str(trained), "suggest", "run", "--code", "h",
                           "--format", "json"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    imported = json.loads(done.stderr.rsplit("MODULES ", 1)[1])
    assert imported == []
    assert json.loads(done.stdout)["counts"]["h"] > 0


def test_the_cache_keeps_positions_ascending_and_reads_back_without_numpy() -> None:
    from qda.suggest.hits import pack_hits, read_hits, unpack_hits

    positions, scores = np.array([7, 2, 9, 4]), np.array([0.7, 0.2, 0.9, 0.4])
    blob = pack_hits(positions, scores, 10)
    found = unpack_hits(blob, 10)
    assert found is not None
    assert found[0].tolist() == [2, 4, 7, 9] and found[1].tolist() == [0.2, 0.4, 0.7, 0.9]
    views = read_hits(blob, 10)
    assert views is not None and list(views[0]) == [2, 4, 7, 9] and list(views[1]) == [0.2, 0.4, 0.7, 0.9]
    assert read_hits(blob, 11) is None and read_hits(b"other", 10) is None and read_hits(blob[:-1], 10) is None


def test_a_cache_out_of_order_is_not_cut_by_document(trained: Path) -> None:
    """The cached run cuts a document's suggestions as a slice of ascending positions: a blob
    written otherwise (by hand here; qda's writer sorts) is left to plan_run."""
    from qda.suggest.hits import read_hits

    with Project.open(trained) as project:
        store = project._store
        (blob,) = store.db.execute("SELECT scores FROM suggest_scores WHERE code='h'").fetchone()
        total = sum(n for _name, n in store.segment_runs())
        views = read_hits(blob, total)
        assert views is not None and len(views[0]) > 1
        head = bytes(blob[:len(blob) - 16 * len(views[0])])
        backwards = (head + np.asarray(views[0], dtype=np.int64)[::-1].tobytes()
                     + np.asarray(views[1], dtype=np.float64)[::-1].tobytes())
        store.db.execute("UPDATE suggest_scores SET scores=? WHERE code='h'", (backwards,))
        assert plan_cached_run(store, None, codes=["h"], documents=["E1"]) is None
        whole = plan_cached_run(store, None, codes=["h"])  # every document: no cut, order kept as given
        assert whole is not None and sorted(dict(whole.segment_ids())["h"]) == sorted(
            store.segments_at(list(views[0]))["id"])
