"""What the suggester reads as a segment's terms (issue 21, ``english_terms``): an English
document's lower-cased words by default (what bench/suggest.py measured), its lookup-table
lemmas with ``english_terms=lemmas``; every other language its lemmas either way; and a model
stored before the setting existed keeps reading the lemmas it was trained on.

The expected terms are spaCy's own (its English tokenizer's ``lower_`` and qda's lookup of the
lemmas, the import's), never the suggester's output.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from qda.errors import QdaError, SuggestError
from qda.ingest.languages import lemma_table
from qda.project import Project
from qda.suggest import learn, suggester
from qda.suggest.corpus import load_corpus
from qda.suggest.hits import unpack_hits
from qda.suggest.learn import DEFAULTS, check_params
from qda.suggest.settings import parse_params

from conftest import CODEBOOK, run, run_json

# a few answers per document; the first two of each are about waiting (code "a")
WAITING = ["I waited ages for the doctor.", "We waited a long time at reception.", "My husband waited outside.",
           "They waited two hours.", "I waited and waited.", "The children waited patiently."]
OTHER = ["They were seen quickly.", "The nurse was kind.", "Parking was easy.", "The staff listened well.",
         "The rooms were clean.", "Doctors explained everything.", "The food was cold.", "Signs were clear."]
PARAMS = {"min_positives": 2}


def _texts() -> dict[str, str]:
    """Six answers as documents: two sentences about waiting, three others, each document its own mix."""
    out = {}
    for d in range(6):
        chosen = [WAITING[d], WAITING[(d + 3) % 6], *(OTHER[(d + k) % len(OTHER)] for k in range(3))]
        out[f"R{d + 1}"] = " ".join(chosen[k] for k in (0, 2, 1, 3, 4)) + "\n"
    return out


def _project(folder: Path, tmp: Path, language: str) -> Path:
    """A project in ``language`` holding the six answers, coder 'human' coding every waiting sentence with 'a'."""
    cli = CliRunner()
    run(cli, "init", folder, "--lang", language)
    run(cli, "-p", folder, "codebook", "load", CODEBOOK)
    docs = tmp / f"answers-{language}"
    docs.mkdir()
    for name, text in _texts().items():
        (docs / f"{name}.txt").write_text(text, encoding="utf-8")
    run(cli, "-p", folder, "import", "transcripts", *sorted(docs.glob("*.txt")))
    with Project.open(folder) as project:
        for segment in project.segments():
            if project._store.document(segment.document).text[segment.start:segment.end].strip() in WAITING:
                project.add_coding("human", segment.document, "a", start=segment.start, end=segment.end)
    return folder


@pytest.fixture(scope="module")
def english_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("english")
    return _project(tmp / "project", tmp, "en")


@pytest.fixture
def english(english_template: Path, tmp_path: Path) -> Path:
    """A writable copy of the English project."""
    folder = tmp_path / "english"
    shutil.copytree(english_template, folder)
    return folder


def _spacy_terms(text: str, lemmas: bool) -> str:
    """A text's terms as qda's English import stores them: spaCy's tokens, lower-cased or looked up."""
    import spacy

    table = lemma_table("en")
    assert table is not None
    doc = spacy.blank("en").tokenizer(text)
    return " ".join(table(t.text) if lemmas else t.lower_ for t in doc if not t.is_space)


def _vocabulary(model: learn.Model) -> set[str]:
    """The single terms of a model's word block (not the bigrams, context or role terms)."""
    return {t for t in model.vectors.words.terms() if " " not in t and not t.startswith("<")}


def test_an_english_corpus_reads_the_words_by_default_and_the_lemmas_when_asked(english: Path) -> None:
    with Project.open(english) as project:
        store = project._store
        texts = {d.name: d.text for d in store.documents()}
        words = load_corpus(store)
        lemmas = load_corpus(store, english_terms="lemmas")
    assert words.languages == frozenset({"en"})
    raw = [texts[words.documents[d]][s:e] for d, s, e in zip(words.document.tolist(), words.starts.tolist(),
                                                              words.ends.tolist())]
    assert words.words == [_spacy_terms(t, lemmas=False) for t in raw]
    assert lemmas.words == [_spacy_terms(t, lemmas=True) for t in raw]
    assert "i waited ages for the doctor ." in words.words
    assert "i wait age for the doctor ." in lemmas.words  # the lookup table's lemmas, as stored at import
    with pytest.raises(SuggestError, match="english_terms"):
        load_corpus(store, english_terms="stems")


def test_an_english_project_trains_on_the_words_and_on_the_lemmas_when_asked(english: Path) -> None:
    with Project.open(english) as project:
        by_words = project.suggest_train("human", seed=1, bootstrap=0, evaluate=False, params=PARAMS)
        model, _info = suggester.load_model(project._store, by_words.model)
        assert model.params["english_terms"] == "words" and model.english_terms == "words"
        vocabulary = _vocabulary(model)
        assert {"waited", "were", "was"} <= vocabulary and "wait" not in vocabulary
        by_lemmas = project.suggest_train("human", seed=1, bootstrap=0, evaluate=False,
                                          params={**PARAMS, "english_terms": "lemmas"})
        assert by_lemmas.model != by_words.model  # the setting changes an English model: its id hashes it
        lemma_model, _info = suggester.load_model(project._store, by_lemmas.model)
        assert lemma_model.english_terms == "lemmas"
        vocabulary = _vocabulary(lemma_model)
        assert {"wait", "be"} <= vocabulary and not {"waited", "were", "was"} & vocabulary


def test_the_cli_takes_english_terms_and_refuses_other_words(english: Path, runner: CliRunner) -> None:
    assert parse_params(["english_terms=lemmas"]) == {"english_terms": "lemmas"}
    with pytest.raises(SuggestError) as refused:
        parse_params(["english_terms=stems"])
    assert "english_terms takes one of words, lemmas" in str(refused.value.problems[0])
    with pytest.raises(SuggestError, match="unknown english_terms 'stems'"):
        check_params({"english_terms": "stems"})
    report = run_json(runner, "-p", english, "suggest", "train", "--from", "human", "--no-evaluate",
                      "--param", "min_positives=2", "--param", "english_terms=lemmas")
    assert report["params"]["english_terms"] == "lemmas"
    with Project.open(english) as project:
        model, _info = suggester.load_model(project._store, report["model"])
    assert "wait" in _vocabulary(model) and "waited" not in _vocabulary(model)
    run(runner, "-p", english, "suggest", "train", "--from", "human", "--param", "english_terms=stems", code=1)


def test_run_and_explain_read_the_terms_the_model_was_trained_on(english: Path, monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    """Train on the words, then score again without the score cache (a fresh process's corpus
    of the other choice kept): the same suggestions; explain names words, not lemmas."""
    with Project.open(english) as project:
        store = project._store
        report = project.suggest_train("human", seed=1, bootstrap=0, evaluate=False, params=PARAMS)
        training_hits = {code: unpack_hits(blob, len(load_corpus(store)))
                         for code, blob in store.suggest_scores(report.model, store.segments_signature(),
                                                                ["a"]).items()}
        model, _info = suggester.load_model(store, report.model)
        suggester.corpus_of(store, english_terms="lemmas")  # what an earlier request may have left kept
        monkeypatch.setattr(store, "suggest_scores", lambda *_args: {})
        run_plan = suggester.plan_run(store, model)
        at, scores = run_plan.suggestions.hits["a"]
        kept = training_hits["a"]
        assert kept is not None and len(at) > 0
        assert at.tolist() == kept[0].tolist() and np.allclose(scores, kept[1])
        monkeypatch.undo()
        project.suggest_run()
        coding = next(c for c in store.codings(coder=model.machine_coder) if c.code == "a")
        explained = project.suggest_explain(coding.id)
        assert any("waited" in term for term, _weight in explained.terms)


def _as_before(patch: pytest.MonkeyPatch) -> None:
    """qda as it was before ``english_terms`` existed: parameters without the setting (a model
    trained so stores parameters that lack it), and nothing kept from another test."""
    patch.setattr(learn, "DEFAULTS", {k: v for k, v in DEFAULTS.items() if k != "english_terms"})
    patch.setattr(suggester, "_kept", suggester._Kept())


def test_a_model_stored_before_the_setting_scores_english_as_the_lemmas_it_learnt(
        english: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Project.open(english) as project:
        store = project._store
        with monkeypatch.context() as patch:
            _as_before(patch)
            ident = project.suggest_train("human", seed=1, bootstrap=0, evaluate=False, params=PARAMS).model
        monkeypatch.setattr(suggester, "_kept", suggester._Kept())
        model, info = suggester.load_model(store, ident)
        assert "english_terms" not in info["params"] and model.english_terms == "lemmas"
        assert "wait" in _vocabulary(model) and "waited" not in _vocabulary(model)
        everything = np.arange(len(load_corpus(store)))
        as_lemmas = suggester.model_scores(model, load_corpus(store, english_terms="lemmas"), everything, codes=["a"])
        as_words = suggester.model_scores(model, load_corpus(store, english_terms="words"), everything, codes=["a"])
        assert not np.allclose(as_lemmas, as_words)  # the choice matters here: the test can fail
        suggester.corpus_of(store, english_terms="words")  # a words corpus kept must not be used for it
        used = suggester.corpus_of(store, english_terms=model.english_terms)
        assert np.array_equal(suggester.model_scores(model, used, everything, codes=["a"]), as_lemmas)
        monkeypatch.setattr(store, "suggest_scores", lambda *_args: {})  # no score cache: scored from the corpus
        at, scores = suggester.plan_run(store, model).suggestions.hits["a"]
        above = np.flatnonzero(as_lemmas[:, 0] >= model.threshold[0])
        assert len(above) and at.tolist() == above.tolist() and np.array_equal(scores, as_lemmas[above, 0])


def test_french_terms_are_the_lemmas_either_way_and_its_models_are_unchanged(
        study_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference study (French): the same corpus with either choice, and training gives the
    model id and coefficients qda gave before the setting existed."""
    folder = tmp_path / "study"
    shutil.copytree(study_project, folder)
    with Project.open(folder) as project:
        store = project._store
        words = load_corpus(store)
        assert words.languages == frozenset({"fr"})
        assert words.words == load_corpus(store, english_terms="lemmas").words
        codebook = project.codebook()

        def trained(**params: object) -> suggester.Training:
            return suggester.train(store, codebook, "consensus", seed=1, evaluate=False, bootstrap=0,
                                   params=params)

        with monkeypatch.context() as patch:
            _as_before(patch)
            before = trained()
        monkeypatch.setattr(suggester, "_kept", suggester._Kept())
        now, lemmas = trained(), trained(english_terms="lemmas")
    assert "english_terms" not in before.model.params and now.model.params["english_terms"] == "words"
    # no English document: the id leaves the setting out, and the models are those of before
    assert now.model.id == before.model.id and lemmas.model.id == before.model.id
    for new in (now.model, lemmas.model):
        assert new.codes == before.model.codes and len(new.codes) == 4
        assert new.vectors.terms() == before.model.vectors.terms()
        assert np.array_equal(new.coef, before.model.coef) and np.array_equal(new.intercept, before.model.intercept)
        assert np.array_equal(new.threshold, before.model.threshold)


def test_every_command_scoring_with_a_model_reads_the_models_terms(english: Path, monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    """sample, validate, bias, accept, provenance, run (without its score cache) and explain each
    read the corpus as the model was trained (here the lemmas, against the default words), also
    when the process keeps a corpus of the other choice."""
    from dataclasses import replace

    from qda.models import WritePlan
    from qda.suggest import corpus as corpus_module

    asked: list[str] = []
    real = corpus_module.load_corpus

    def spied(store: object, terms: bool = True, *, english_terms: str = "words") -> object:
        asked.append(english_terms if terms else "no terms")
        return real(store, terms, english_terms=english_terms)  # type: ignore[arg-type]

    with Project.open(english) as project:
        store = project._store
        trainer = tuple(replace(c, coder="trainer", id=None) for c in store.codings(coder="human")
                        if c.document in ("R1", "R2", "R3", "R4"))
        project.commit(WritePlan(coders=("trainer",), codings=trainer))
        report = project.suggest_train("trainer", seed=1, bootstrap=0, evaluate=False,
                                       params={**PARAMS, "english_terms": "lemmas"})
        project.suggest_run()
        model, _info = suggester.load_model(store, report.model)
        monkeypatch.setattr(suggester, "load_corpus", spied)
        steps = {
            "sample": lambda: project.suggest_sample(4, "human", seed=1),
            "validate": lambda: project.suggest_validate(bootstrap=0),
            "bias": lambda: project.suggest_bias("sector"),
            "accept": lambda: project.suggest_accept("a", reviewer="human", min_kappa=-1.0, bootstrap=200),
            "provenance": lambda: project.suggest_provenance([model.machine_coder]),
        }
        for name, step in steps.items():
            suggester.corpus_of(store, english_terms="words")  # what an earlier request left kept
            asked.clear()
            try:
                step()
            except QdaError as refused:  # a case attribute the fixture lacks: the corpus was read first
                assert name == "bias", refused
            assert asked and set(asked) == {"lemmas"}, (name, asked)
        monkeypatch.setattr(store, "suggest_scores", lambda *_args: {})
        suggester.corpus_of(store, english_terms="words")
        asked.clear()
        suggester.plan_run(store, model)
        assert "lemmas" in asked and "words" not in asked
        monkeypatch.undo()
        monkeypatch.setattr(suggester, "load_corpus", spied)
        coding = next(c for c in store.codings(coder=model.machine_coder))
        suggester.corpus_of(store, english_terms="words")
        asked.clear()
        explained = project.suggest_explain(coding.id or 0)
        assert asked == ["lemmas"]
        assert not any("waited" in term for term, _weight in explained.terms)
