"""Suggester benchmark (issue 21): quality on three human-coded corpora, speed at 1,000 documents.

Quality — per code, document-grouped cross-validated Cohen's kappa and F1 of qda's suggester
(``qda.suggest`` with its default parameters, or ``--params``) with the training part of every
fold cut to the first documents (seeded random order) holding 25 / 50 / 100 / 200 positives,
and with all of it; the median over codes beside two anchors computed in the same run on the
same folds:

* ``plain``: scikit-learn's ``TfidfVectorizer()`` on the raw text + ``LogisticRegression(
  class_weight="balanced")``, its default 0.5 cut;
* ``dict``: qda's dictionary auto-coder (``qda code auto``), where the codebook has patterns
  (the reference study only; it does not learn, so one figure on all segments).

Corpora: the reference study (examples/entry-postentry, learning from the consensus; coders A
and B give the human-human kappa beside it), and, read in place, never copied,
``../shared/datasets/nhs-fft`` and ``../shared/datasets/talkmoves`` (all 236,182 sentences of
its 567 transcripts, at every size; ``--talkmoves-docs N`` cuts the sizes 25-200 to a seeded
subset of N transcripts, never the all-data row). Their texts are tokenised as qda stores
English at import (spaCy's English tokenizer), and the suggester is given what it reads of an
English project: the lower-cased words (``english_terms=words``, the default; ``lemmas``: the
lookup-table lemmas). The study is read from its project (French: its lemmas either way).

Resumable: every cell (corpus, size, code, fold, method, settings) is cached under
``--cache`` (default /tmp/suggest-bench/) when it finishes, so a run that is stopped goes on
where it stopped, and a second run with the same settings only prints. ``--jobs N`` runs cells
in N processes. CPU seconds per row are the cells' own CPU (summed, also when cached).

Speed — on the N = 1,000 project of ``bench/workflow.py`` (its cache; run it first): train
every code (with and without the cross-validated evaluation), one code, suggest for every
segment (all codes, one code, again), explain a suggestion; each step a ``qda`` command in a
fresh process as a user runs it, its wall and CPU seconds (imports included), its peak memory
(ru_maxrss), the load average.

Usage: python bench/suggest.py [--corpus study,nhs-fft,talkmoves,speed] [--sizes 25,50,100,200,all]
       [--jobs 2] [--params '{"C": 2}']
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATASETS = ROOT.parent.parent / "shared" / "datasets"
if not DATASETS.exists():
    DATASETS = Path("/work/shared/datasets")

from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import cohen_kappa_score, f1_score  # noqa: E402

from qda.suggest.corpus import texts_from  # noqa: E402
from qda.suggest.learn import (  # noqa: E402
    Features,
    check_params,
    fit_in_scope,
    folds_of,
    gated,
    in_scope,
    neighbour_rows,
    neighbour_term,
    neighbours_for,
    rows_of,
)
from qda.suggest.suggester import training_subsets  # noqa: E402

SEED = 1
#: Bumped when a cell's computation changes in a way its key does not show (old cells are then not reused).
CELL_VERSION = 1
#: The same for qda's cells only (2: liblinear's dual solver).
QDA_CELL_VERSION = 2


class Corpus:
    """A benchmark corpus: raw texts, words, documents, roles, labels per code."""

    def __init__(self, name: str, raw: list[str], words: list[str], documents: list[str], roles: list[str | None],
                 labels: dict[str, np.ndarray]) -> None:
        index: dict[str, int] = {}
        self.name = name
        self.raw = raw
        self.words = words
        self.roles = roles
        self.groups = np.array([index.setdefault(d, len(index)) for d in documents], dtype=np.int64)
        self.labels = labels

    def texts(self) -> list[str]:
        """qda's feature texts (what the project's corpus would hold)."""
        return texts_from(self.words, self.groups.tolist(), self.roles)


def english_words(texts: list[str], cache: Path | None = None, terms: str = "words") -> list[str]:
    """Lower-cased tokens (no whitespace tokens): what qda stores at import as an English
    document's ``lower`` column and the suggester reads as its terms (``english_terms=words``);
    ``terms="lemmas"``: their lemmas from spaCy's lookup table, as qda stores them beside."""
    if cache is not None and cache.exists():
        words = json.loads(cache.read_text(encoding="utf-8"))
        if len(words) == len(texts):
            return list(words)
    import spacy

    from qda.ingest.languages import lemma_table

    tokenizer = spacy.blank("en").tokenizer
    table = lemma_table("en") if terms == "lemmas" else None
    form = (lambda t: table(t.text)) if table is not None else (lambda t: t.lower_)
    words = [" ".join(form(t) for t in doc if not t.is_space) for doc in tokenizer.pipe(texts, batch_size=2000)]
    if cache is not None:
        cache.write_text(json.dumps(words), encoding="utf-8")
    return words


def read_dataset(name: str, cache: Path, terms: str = "words") -> Corpus:
    folder = DATASETS / name
    with open(folder / "passages.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows.sort(key=lambda r: (r["document_id"], int(r["position"] or 0)))
    ids = {r["passage_id"]: i for i, r in enumerate(rows)}
    with open(folder / "codes.csv", newline="", encoding="utf-8") as f:
        codes = [r["code_id"] for r in csv.DictReader(f)]
    labels = {c: np.zeros(len(rows), dtype=bool) for c in codes}
    with open(folder / "labels.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["passage_id"] in ids and r["code_id"] in labels:
                labels[r["code_id"]][ids[r["passage_id"]]] = True
    raw = [r["text"] for r in rows]
    roles = [r.get("speaker_role") or None for r in rows]
    words = english_words(raw, cache / (f"words-{name}.json" if terms == "words" else f"{terms}-{name}.json"), terms)
    return Corpus(name, raw, words, [r["document_id"] for r in rows],
                  roles, {c: y for c, y in labels.items() if y.any()})


def study_corpus(cache: Path, settings: dict[str, Any]) -> tuple[Corpus, dict[str, dict[str, np.ndarray]]]:
    """The reference study as a project (built once), learning from the consensus; the other
    coders' labels (A, B, the dictionary auto-coder) on the same segments beside it."""
    sys.path.insert(0, str(ROOT / "tests"))
    from typer.testing import CliRunner

    from qda.project import Project
    from qda.suggest.corpus import load_corpus, segment_labels

    from conftest import EXAMPLE, example_project, run

    folder = cache / "study"
    if not (folder / "project.qda").exists():
        example_project(folder, sorted((EXAMPLE / "transcripts").glob("*.txt")))
        cli = CliRunner()
        for coder in ("coder-a", "coder-b", "consensus"):
            run(cli, "-p", folder, "code", "import", EXAMPLE / f"{coder}.xlsx", "--coder", coder)
        run(cli, "-p", folder, "code", "auto", "--coder", "auto")
    with Project.open(folder) as project:
        store = project._store
        corpus = load_corpus(store, english_terms=settings["english_terms"])
        others = {coder: segment_labels(store, corpus, coder).positive for coder in ("coder-a", "coder-b", "auto")}
        consensus = segment_labels(store, corpus, "consensus")
        texts = {d.name: d.text for d in store.documents()}
    raw = [texts[corpus.documents[d]][s:e] for d, s, e in zip(corpus.document.tolist(), corpus.starts.tolist(),
                                                              corpus.ends.tolist())]
    out = Corpus("study", raw, corpus.words, [corpus.documents[d] for d in corpus.document], corpus.roles,
                 consensus.positive)
    return out, others


def pooled(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    if not truth.any() and not predicted.any():
        return float("nan"), float("nan")
    return float(cohen_kappa_score(truth, predicted)), float(f1_score(truth, predicted, zero_division=0.0))


# ----------------------------------------------------------------------------- cells

#: What the worker processes read (set before the pool forks, so nothing is pickled per task).
SHARED: dict[str, Any] = {}


#: Parameters added after cells were cached: left out of a cell's key while at this value, so
#: the cells computed before they existed are still reused.
LATER_PARAMS: dict[str, Any] = {"threshold": "shrunk", "role_gate": False, "inner_tol": 1e-4,
                                 "inner_max_negatives": 10000, "inner_per_positive": 4, "loss": "logistic",
                                 "english_terms": "words", "neighbours": 0}


def settings_key(settings: dict[str, Any]) -> str:
    settings = {k: v for k, v in settings.items() if not (k in LATER_PARAMS and LATER_PARAMS[k] == v)}
    if settings.get("threshold", "shrunk") != "weighted":  # the prior of the "weighted" cut changes nothing else
        settings.pop("threshold_prior", None)
    if settings.get("loss", "logistic") != "auto":  # where the "auto" classifier switches changes nothing else
        settings.pop("svm_from", None)
        settings.pop("svm_to", None)
    if not settings.get("neighbours"):  # without neighbour terms their weight and range change nothing
        settings.pop("neighbours_weight", None)
        settings.pop("neighbours_to", None)
    else:  # the cells computed before the budget of comparisons are not these
        settings["passages"] = "budget"
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


def cell_path(cache: Path, corpus: str, size: str, code: str, fold: int, method: str, key: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in code)
    return cache / "cells" / corpus / f"{size}-{safe}-{fold}-{method}-{key}-v{CELL_VERSION}.npz"


def plan_code(y: np.ndarray, groups: np.ndarray, folds_n: int, sizes: Sequence[str]
              ) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """size -> per fold (training positions, test positions); a size missing when a fold cannot have it
    (the same rule as ``cross_validate``: every fold needs positives and negatives in its training part)."""
    folds = folds_of(y, groups, folds_n, seed=SEED)
    out: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    if not folds:
        return out
    for size in sizes:
        subsets = None if size == "all" else training_subsets(y, groups, folds, size=int(size), seed=SEED)
        if size != "all" and subsets is None:
            continue
        pairs = [(subsets[k] if subsets is not None else train, test) for k, (train, test) in enumerate(folds)]
        if all(y[train].any() and not y[train].all() for train, _ in pairs):
            out[size] = pairs
    return out


def run_cell(task: tuple[str, str, int, str, str]) -> tuple[tuple[str, str, int, str], np.ndarray, float]:
    """One fold of one code at one size by one method: the test part's predictions (cached)."""
    code, size, fold, method, path = task
    y = SHARED["labels"][code]
    train, test = SHARED["plans"][code][size][fold]
    c0 = time.process_time()
    if method == "qda":
        x, settings, groups, roles = SHARED["x_qda"], SHARED["settings"], SHARED["groups"], SHARED["roles"]
        x_train, y_train = x[train], y[train]
        # the neighbour term as a project of these segments would have it: chosen on the code's training
        # positives, with the budget of comparisons of a model scoring every segment of the corpus
        scope, _ = in_scope(y_train, roles=roles[train], params=settings)
        k = neighbours_for(settings, int(y_train.sum() if scope is None else y_train[scope].sum()),
                           segments=x.shape[0])
        settings = {**settings, "neighbours": k, "neighbours_to": None}
        coef, intercept, threshold, excluded = fit_in_scope(x_train, y_train, groups[train], roles=roles[train],
                                                            params=settings, seed=SEED)
        decision = np.asarray(x[test] @ coef + intercept)
        # the neighbour term, as a stored model adds it (qda.suggest.suggester.train, Model.scores_of_rows)
        if k:
            positive, negative = neighbour_rows(y_train, scope, x_train.shape[0], seed=SEED)
            decision = decision + neighbour_term(x[test], rows_of(x_train, positive), rows_of(x_train, negative),
                                                 k=k,
                                                 weight=float(settings["neighbours_weight"]))
        scores = 1.0 / (1.0 + np.exp(-np.clip(decision, -500, 500)))
        predicted = gated(scores, roles[test], excluded) >= threshold
    else:
        x = SHARED["x_plain"]
        model = LogisticRegression(class_weight="balanced", max_iter=1000).fit(x[train], y[train])
        predicted = model.predict(x[test]).astype(bool)
    cpu = time.process_time() - c0
    tmp = Path(path + ".tmp.npz")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    np.savez(tmp, predicted=np.asarray(predicted, dtype=bool), cpu=np.float64(cpu))
    tmp.replace(path)
    return (code, size, fold, method), np.asarray(predicted, dtype=bool), cpu


def evaluate(corpus: Corpus, sizes: Sequence[str], settings: dict[str, Any], cache: Path, jobs: int,
             cut_to: Corpus | None = None) -> tuple[dict[str, dict[str, tuple[float, float]]], dict[str, float]]:
    """code -> {"qda@25": (kappa, F1), "plain@25": ..., "qda@all": ...}, and CPU seconds per "method@size".

    ``cut_to``: a subset corpus on which the cut sizes (not "all") are measured instead.
    """
    results: dict[str, dict[str, tuple[float, float]]] = {}
    cpu: dict[str, float] = {}
    parts = [(corpus, [s for s in sizes if s == "all" or cut_to is None])]
    if cut_to is not None:
        parts.append((cut_to, [s for s in sizes if s != "all"]))
    for part, part_sizes in parts:
        if not part_sizes:
            continue
        key = settings_key({**settings, "seed": SEED, "cell": QDA_CELL_VERSION})
        t0, c0 = time.perf_counter(), time.process_time()
        x_qda = Features.fit_transform(part.texts(), settings)[1]
        x_plain = TfidfVectorizer().fit_transform(part.raw)
        print(f"  [{part.name}: features {time.perf_counter() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU; "
              f"{x_qda.shape[1]} qda features, {x_plain.shape[1]} plain]", file=sys.stderr, flush=True)
        plans = {code: plan_code(y, part.groups, int(settings["folds"]), part_sizes)
                 for code, y in sorted(part.labels.items()) if y.sum() >= int(settings["min_positives"])}
        SHARED.update(labels=part.labels, plans=plans, x_qda=x_qda, x_plain=x_plain,
                      settings=settings,
                      groups=part.groups, roles=np.array([r or "" for r in part.roles], dtype=str))
        done: dict[tuple[str, str, int, str], tuple[np.ndarray, float]] = {}
        todo: list[tuple[str, str, int, str, str]] = []
        for code, by_size in plans.items():
            for size, pairs in by_size.items():
                for fold in range(len(pairs)):
                    for method, mkey in (("qda", key), ("plain", "plain")):
                        path = cell_path(cache, part.name, size, code, fold, method, mkey)
                        if path.exists():
                            with np.load(path) as cell:
                                done[(code, size, fold, method)] = (cell["predicted"], float(cell["cpu"]))
                        else:
                            todo.append((code, size, fold, method, str(path)))
        # the big cells first, so that the last ones to finish are short
        todo.sort(key=lambda t: (t[1] != "all", -int(part.labels[t[0]].sum())))
        print(f"  [{part.name}: {len(done)} cells cached, {len(todo)} to compute, {jobs} job(s)]", file=sys.stderr,
              flush=True)
        if todo:
            if jobs > 1:
                with ProcessPoolExecutor(jobs, mp_context=get_context("fork")) as pool:
                    for n, (k, predicted, seconds) in enumerate(pool.map(run_cell, todo, chunksize=1), 1):
                        done[k] = (predicted, seconds)
                        if n % 20 == 0 or n == len(todo):
                            print(f"  [{part.name}: {n}/{len(todo)} cells, load {os.getloadavg()[0]:.1f}]",
                                  file=sys.stderr, flush=True)
            else:
                for n, task in enumerate(todo, 1):
                    k, predicted, seconds = run_cell(task)
                    done[k] = (predicted, seconds)
                    if n % 20 == 0 or n == len(todo):
                        print(f"  [{part.name}: {n}/{len(todo)} cells, load {os.getloadavg()[0]:.1f}]",
                              file=sys.stderr, flush=True)
        for code, by_size in plans.items():
            y = part.labels[code]
            row = results.setdefault(code, {})
            for size, pairs in by_size.items():
                for method in ("qda", "plain"):
                    truth, predicted = [], []
                    for fold, (_train, test) in enumerate(pairs):
                        p, seconds = done[(code, size, fold, method)]
                        truth.append(y[test])
                        predicted.append(p)
                        cpu[f"{method}@{size}"] = cpu.get(f"{method}@{size}", 0.0) + seconds
                    row[f"{method}@{size}"] = pooled(np.concatenate(truth), np.concatenate(predicted))
                    if size == "all" and len(set(part.roles)) > 1:
                        # the sentences of the roles the code is given to only (a teacher move on
                        # teachers' sentences): how studies of one speaker's moves report it
                        tested = np.concatenate([test for _train, test in pairs])
                        roles = np.array([r or "" for r in part.roles], dtype=str)
                        own = np.isin(roles[tested], np.unique(roles[y]))
                        row[f"{method}@{size} (own roles)"] = pooled(np.concatenate(truth)[own],
                                                                      np.concatenate(predicted)[own])
    return results, cpu


def medians(results: dict[str, dict[str, tuple[float, float]]], keys: list[str]) -> dict[str, tuple[float, float, int]]:
    out = {}
    for key in keys:
        kappas = [r[key][0] for r in results.values() if key in r and np.isfinite(r[key][0])]
        f1s = [r[key][1] for r in results.values() if key in r and np.isfinite(r[key][1])]
        out[key] = (statistics.median(kappas) if kappas else float("nan"),
                    statistics.median(f1s) if f1s else float("nan"), len(kappas))
    return out


def print_quality(name: str, results: dict[str, dict[str, tuple[float, float]]], sizes: Sequence[str],
                  cpu: dict[str, float], extra: dict[str, tuple[float, float, int]] | None = None) -> None:
    print(f"\n## {name}: median over codes (kappa / F1), codes measured; CPU s of the cells (all folds, all codes)")
    print("| size | qda suggester | plain TF-IDF + LR | codes | qda ≥ plain | CPU s qda / plain |")
    print("|---|---|---|---|---|---|")
    for size in sizes:
        m = medians(results, [f"qda@{size}", f"plain@{size}"])
        o, p = m[f"qda@{size}"], m[f"plain@{size}"]
        if o[2]:
            print(f"| {size} | {o[0]:.3f} / {o[1]:.3f} | {p[0]:.3f} / {p[1]:.3f} | {o[2]} | "
                  f"{'yes' if o[0] >= p[0] else 'NO'} | {cpu.get(f'qda@{size}', 0):.0f} / "
                  f"{cpu.get(f'plain@{size}', 0):.0f} |")
    m = medians(results, ["qda@all (own roles)", "plain@all (own roles)"])
    o, p = m["qda@all (own roles)"], m["plain@all (own roles)"]
    if o[2]:
        print(f"| all, each code on its speakers' segments only | {o[0]:.3f} / {o[1]:.3f} | {p[0]:.3f} / {p[1]:.3f} | "
              f"{o[2]} | {'yes' if o[0] >= p[0] else 'NO'} | |")
    for label, (k, f, n) in (extra or {}).items():
        print(f"| {label} | {k:.3f} / {f:.3f} | | {n} | | |")
    print("\nper code (kappa, qda / plain):")
    for code, row in results.items():
        cells = [f"{s}: {row[f'qda@{s}'][0]:.2f}/{row[f'plain@{s}'][0]:.2f}" for s in sizes if f"qda@{s}" in row]
        if cells:
            print(f"  {code}: " + "; ".join(cells))
    sys.stdout.flush()


def bench_study(cache: Path, sizes: Sequence[str], settings: dict[str, Any], jobs: int) -> None:
    corpus, others = study_corpus(cache, settings)
    results, cpu = evaluate(corpus, sizes, settings, cache, jobs)
    extra = {}
    trained = [c for c, row in results.items() if "qda@all" in row]
    for coder, label in (("coder-a", "coder A vs consensus (human)"), ("coder-b", "coder B vs consensus (human)"),
                         ("auto", "dictionary auto-coder vs consensus")):
        pairs = [pooled(corpus.labels[c], others[coder].get(c, np.zeros(len(corpus.raw), dtype=bool)))
                 for c in trained]
        kappas = [k for k, _ in pairs if np.isfinite(k)]
        f1s = [f for _, f in pairs if np.isfinite(f)]
        if kappas:
            extra[label] = (statistics.median(kappas), statistics.median(f1s), len(kappas))
    print_quality("reference study, learning from the consensus", results, sizes, cpu, extra)


def subset(corpus: Corpus, documents: int) -> Corpus:
    """A seeded subset of whole documents."""
    keep_docs = np.random.default_rng(SEED).permutation(np.unique(corpus.groups))[:documents]
    keep = np.isin(corpus.groups, keep_docs)
    out = Corpus.__new__(Corpus)
    out.name = f"{corpus.name}-{documents}docs"
    out.raw = [t for t, k in zip(corpus.raw, keep) if k]
    out.words = [t for t, k in zip(corpus.words, keep) if k]
    out.roles = [t for t, k in zip(corpus.roles, keep) if k]
    out.groups = corpus.groups[keep]
    out.labels = {c: y[keep] for c, y in corpus.labels.items()}
    return out


#: A CLI command in a fresh process (as a user runs it), its CPU and peak memory written to a file at exit.
CHILD = """
import atexit, json, resource, runpy, sys
stats = sys.argv[1]
def report():
    r = resource.getrusage(resource.RUSAGE_SELF)
    with open(stats, "w") as f:
        json.dump({"cpu": r.ru_utime + r.ru_stime, "peak": r.ru_maxrss / 1024}, f)
atexit.register(report)
sys.argv = ["qda", *sys.argv[2:]]
runpy.run_module("qda", run_name="__main__")
"""


def command(label: str, *args: object) -> dict:
    """Run ``qda ARGS`` in a fresh process; print its wall and CPU seconds, peak memory, load."""
    import json
    import subprocess

    with tempfile.NamedTemporaryFile(suffix=".json") as stats:
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", CHILD, stats.name, *map(str, args)], capture_output=True,
                              text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        wall = time.perf_counter() - t0
        measured = json.loads(Path(stats.name).read_text() or "{}")
    if done.returncode:
        raise SystemExit(f"{label}: qda {' '.join(map(str, args))} failed:\n{done.stderr}")
    print(f"| {label} | {wall:.2f} | {measured['cpu']:.2f} | {measured['peak']:.0f} | {os.getloadavg()[0]:.2f} |",
          flush=True)
    return json.loads(done.stdout) if done.stdout.lstrip().startswith("{") else {}


def timed(label: str, fn, *args, **kwargs):
    """Run ``fn`` in this process; print its wall and CPU seconds and the load."""
    t0, c0 = time.perf_counter(), time.process_time()
    value = fn(*args, **kwargs)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"| {label} | {wall:.2f} | {cpu:.2f} | | {os.getloadavg()[0]:.2f} |", flush=True)
    return value


def bench_speed(cache: Path) -> None:
    """Train / suggest / explain on the 1,000-document project of bench/workflow.py, each step
    a ``qda`` command in a fresh process (CPU and peak memory of that process: imports included)."""
    import shutil

    from qda.project import Project

    source = Path(tempfile.gettempdir()) / "qda-bench-workflow" / "n1000" / "project"
    if not (source / "project.qda").exists():
        print("\n(speed: no cached 1,000-document project of bench/workflow.py found; run it first)")
        return
    folder = cache / "speed"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(source, folder)
    with Project.open(folder) as project:
        coder = next(c for c in project.coders() if not c.startswith("model:"))
        codes = project.codebook().code_ids()
        segments = project._store.sizes()["segments"]
    print(f"\n## speed: bench/workflow.py's n1000 project, {segments} segments, {len(codes)} codes, "
          f"learning from {coder}; each step a fresh `qda` process")
    print("| step | wall s | CPU s | peak MB | load |\n|---|---|---|---|---|")
    p = ("-p", folder)
    trained = command("train every code (no evaluation)", *p, "suggest", "train", "--from", coder, "--no-evaluate",
                      "--format", "json")
    model = trained["machine_coder"]
    command("train one code (no evaluation)", *p, "suggest", "train", "--from", coder, "--code", codes[0],
            "--no-evaluate", "--format", "json")
    ran = command("suggest for every segment (all codes)", *p, "suggest", "run", "--model", model, "--format", "json")
    command("suggest for every segment (one code)", *p, "suggest", "run", "--model", model, "--code", codes[1],
            "--format", "json")
    command("suggest for every segment (all codes), again", *p, "suggest", "run", "--model", model,
            "--format", "json")
    with Project.open(folder) as project:
        first, following = (c.id for c in project._store.codings(coder=model, codes=[codes[1]])[:2])
    command("explain one suggestion", *p, "suggest", "explain", first, "--format", "json")
    with Project.open(folder) as project:  # the workspace's review queue: one process, explain after explain
        timed("explain one suggestion in a running server, first", project.suggest_explain, first)
        timed("explain one suggestion in a running server, next", project.suggest_explain, following)
    command("train every code + cross-validated evaluation", *p, "suggest", "train", "--from", coder,
            "--bootstrap", "200", "--format", "json")
    print(f"\n{sum(ran.get('counts', {}).values()):,} suggestions stored by the run of every code.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", "--only", dest="corpus", default="study,nhs-fft,talkmoves,speed",
                        help="comma-separated: study, nhs-fft, talkmoves, speed")
    parser.add_argument("--sizes", default="25,50,100,200,all", help="positives per code, and 'all'")
    parser.add_argument("--jobs", type=int, default=1, help="processes computing cells")
    parser.add_argument("--params", default="{}", help="qda suggester parameters (JSON), e.g. '{\"C\": 2}'")
    parser.add_argument("--talkmoves-docs", type=int, default=0,
                        help="measure talkmoves' cut sizes on a seeded subset of N transcripts (0: all of them); "
                             "the all-data row is always on every sentence")
    parser.add_argument("--docs", type=int, default=0,
                        help="explore settings on a seeded subset of N documents of nhs-fft and talkmoves (every "
                             "row, the all-data one too); the published figures use 0: all of them")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "suggest-bench")
    args = parser.parse_args()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    settings = check_params(json.loads(args.params))
    only = set(args.corpus.split(","))
    args.cache.mkdir(parents=True, exist_ok=True)
    t0, c0 = time.perf_counter(), time.process_time()
    changed = {k: v for k, v in settings.items() if v != check_params(None)[k]}
    print(f"# bench/suggest.py — load average {os.getloadavg()[0]:.2f} at start, {os.cpu_count()} CPUs, "
          f"{args.jobs} job(s); qda parameters: defaults{' with ' + json.dumps(changed) if changed else ''}")
    if "study" in only:
        bench_study(args.cache, sizes, settings, args.jobs)
    if "nhs-fft" in only:
        corpus = read_dataset("nhs-fft", args.cache, settings["english_terms"])
        corpus = subset(corpus, args.docs) if args.docs else corpus
        results, cpu = evaluate(corpus, sizes, settings, args.cache, args.jobs)
        print_quality(f"nhs-fft ({len(corpus.raw)} answers, {len(corpus.labels)} codes used)", results, sizes, cpu)
    if "talkmoves" in only:
        corpus = read_dataset("talkmoves", args.cache, settings["english_terms"])
        corpus = subset(corpus, args.docs) if args.docs else corpus
        cut = subset(corpus, args.talkmoves_docs) if args.talkmoves_docs else None
        results, cpu = evaluate(corpus, sizes, settings, args.cache, args.jobs, cut)
        where = (f"sizes 25-200 on {args.talkmoves_docs} transcripts ({len(cut.raw)} sentences), " if cut else "")
        print_quality(f"talkmoves ({where}all data on all {len(corpus.raw)} sentences of "
                      f"{len(np.unique(corpus.groups))} transcripts)", results, sizes, cpu)
    if "speed" in only:
        bench_speed(args.cache)
    print(f"\n(total: {time.perf_counter() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU in the main process, "
          f"load average {os.getloadavg()[0]:.2f} at the end)")


if __name__ == "__main__":
    main()
