"""qda code auto on a project: stored lemmas, negation modes, the pattern recorded, P/R/F1."""

from __future__ import annotations

from pathlib import Path

from qda import Project

from conftest import run, run_json


def test_auto_coding_skips_negated_mentions_and_records_patterns(runner, small_project: Path) -> None:
    result = run_json(runner, "-p", small_project, "code", "auto")
    assert result["coder"] == "auto"
    with Project.open(small_project) as project:
        found = {(c.segment, c.code): c for c in project.codings("auto")}
    # "Nous allons à trois foires commerciales par année." — the lemma pattern "foire commercial"
    assert ("A1#3", "h") in found and found[("A1#3", "h")].pattern == "lemma: foire commercial"
    assert found[("A1#3", "h")].note == "matched: foires commerciales"
    # "Un ingénieur d'application suit chaque client."
    assert ("A1#7", "y") in found
    # "Par contre, on n'est pas sur Facebook." is a negated mention: not coded
    assert ("A1#5", "a") not in found


def test_flagged_negations_are_kept_but_not_counted(runner, small_project: Path) -> None:
    result = run_json(runner, "-p", small_project, "code", "auto", "--negation", "flag")
    assert result["flagged"] >= 1
    with Project.open(small_project) as project:
        stored = [c for c in project._store.codings(coder="auto") if c.code == "a"]
        assert [c.status for c in stored] == ["negated"]
        assert all(c.code != "a" for c in project.codings("auto"))


def test_precision_recall_against_a_human_coder(runner, small_project: Path, tmp_path: Path) -> None:
    run(runner, "-p", small_project, "code", "auto")
    sheet = tmp_path / "human.csv"
    sheet.write_text("segment,codes\nA1#3,h\nA1#4,b\nA1#7,y\nA1#8,t\n", encoding="utf-8")
    run(runner, "-p", small_project, "code", "import", sheet, "--coder", "human")
    report = run_json(runner, "-p", small_project, "agree", "auto", "human", "--unit", "segment",
                      "--bootstrap", "0", "--code", "h", "--code", "t")
    by_code = {c["code"]: c for c in report["codes"]}
    assert by_code["h"]["precision"] == 1.0 and by_code["h"]["recall"] == 1.0
    # "On rend aussi visite aux clients": the words of "rendre visite" are not adjacent, a miss
    assert by_code["t"]["recall"] == 0.0 and by_code["t"]["precision"] is None


def test_pattern_lemmas_kept_at_import_spare_loading_the_pipeline(runner, small_project: Path, monkeypatch) -> None:
    """code auto after an import does not load spaCy for the patterns, and codes the same."""
    import json

    from qda.coding import auto
    from qda.coding.auto import compile_dictionary

    with Project.open(small_project) as project:
        stored = json.loads(project._store.get_meta("pattern_lemmas:fr"))
        fresh = compile_dictionary(project.codebook(), "fr")  # lemmatised now, with the pipeline
        cached = compile_dictionary(project.codebook(), "fr", known=dict(stored["lemmas"]))
    assert [e.form for e in cached.entries] == [e.form for e in fresh.entries]
    assert stored["lemmas"]["foire commercial"] == ["foire", "commercial"]

    def no_pipeline(language: str) -> None:
        raise AssertionError("the pipeline was loaded")

    monkeypatch.setattr(auto, "pipeline", no_pipeline)
    result = run_json(runner, "-p", small_project, "code", "auto")
    assert result["codings"] > 0
    with Project.open(small_project) as project:
        found = {(c.segment, c.code): c for c in project.codings("auto")}
    assert found[("A1#3", "h")].pattern == "lemma: foire commercial"
