"""Suggester benchmark (issue 21): quality on three human-coded corpora, speed at 1,000 documents.

Quality — per code, document-grouped cross-validated Cohen's kappa and F1 of qda's suggester
(``qda.suggest``: lemma n-grams + previous segment + speaker role, class-balanced logistic
regression, threshold tuned on inner folds of the training part) with the training part of
every fold cut to the first documents (seeded random order) holding 25 / 50 / 100 / 200
positives, and with all of it; the median over codes beside two anchors computed in the same
run on the same folds:

* ``plain``: scikit-learn's ``TfidfVectorizer()`` on the raw text + ``LogisticRegression(
  class_weight="balanced")``, its default 0.5 cut;
* ``dict``: qda's dictionary auto-coder (``qda code auto``), where the codebook has patterns
  (the reference study only; it does not learn, so one figure on all segments).

Corpora: the reference study (examples/entry-postentry, learning from the consensus; coders A
and B give the human-human kappa beside it), and, read in place, never copied,
``../shared/datasets/nhs-fft`` and ``../shared/datasets/talkmoves``. Their texts are tokenised
as qda stores English at import (spaCy's English tokenizer, lower-cased words as lemmas).
talkmoves is large (236,182 sentences): the cut sizes run on a seeded subset of transcripts
(``--talkmoves-docs``, default 120), the all-data figure on every transcript.

Speed — on the N = 1,000 project of ``bench/workflow.py`` (its cache; run it first): train
every code (with and without the cross-validated evaluation), one code, suggest for every
segment (all codes, one code, again), explain a suggestion; each step a ``qda`` command in a
fresh process as a user runs it, its wall and CPU seconds (imports included), its peak memory
(ru_maxrss), the load average.

Usage: python bench/suggest.py [--only study,nhs-fft,talkmoves,speed] [--sizes 25,50,100,200]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

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
from qda.suggest.learn import Features, check_params, cross_validate, folds_of  # noqa: E402
from qda.suggest.suggester import training_subsets  # noqa: E402

SEED = 1


class Corpus:
    """A benchmark corpus: raw texts, qda's feature texts, documents, labels per code."""

    def __init__(self, name: str, raw: list[str], words: list[str], documents: list[str], roles: list[str | None],
                 labels: dict[str, np.ndarray]) -> None:
        index: dict[str, int] = {}
        self.name = name
        self.raw = raw
        self.groups = np.array([index.setdefault(d, len(index)) for d in documents], dtype=np.int64)
        self.texts = texts_from(words, self.groups.tolist(), roles)
        self.labels = labels

    def subset(self, documents: int, seed: int) -> Corpus:
        keep_docs = np.random.default_rng(seed).permutation(np.unique(self.groups))[:documents]
        keep = np.isin(self.groups, keep_docs)
        out = Corpus.__new__(Corpus)
        out.name, out.raw = f"{self.name} ({documents} documents)", [t for t, k in zip(self.raw, keep) if k]
        out.groups = self.groups[keep]
        out.texts = [t for t, k in zip(self.texts, keep) if k]
        out.labels = {c: y[keep] for c, y in self.labels.items()}
        return out


def english_words(texts: list[str]) -> list[str]:
    """Lower-cased tokens (no whitespace tokens), as qda stores English lemmas at import."""
    import spacy

    tokenizer = spacy.blank("en").tokenizer
    return [" ".join(t.lower_ for t in doc if not t.is_space) for doc in tokenizer.pipe(texts, batch_size=2000)]


def read_dataset(name: str) -> Corpus:
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
    return Corpus(name, raw, english_words(raw), [r["document_id"] for r in rows], roles,
                  {c: y for c, y in labels.items() if y.any()})


def study_corpus(cache: Path) -> tuple[Corpus, dict[str, dict[str, np.ndarray]]]:
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
        corpus = load_corpus(project.store)
        others = {coder: segment_labels(project.store, corpus, coder).positive
                  for coder in ("coder-a", "coder-b", "auto")}
        consensus = segment_labels(project.store, corpus, "consensus")
        texts = {d.name: d.text for d in project.store.documents()}
    raw = [texts[corpus.documents[d]][s:e] for d, s, e in zip(corpus.document.tolist(), corpus.starts.tolist(),
                                                              corpus.ends.tolist())]
    out = Corpus("reference study (consensus)", raw, corpus.words, [corpus.documents[d] for d in corpus.document],
                 corpus.roles, consensus.positive)
    return out, others


def pooled(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    if not truth.any() and not predicted.any():
        return float("nan"), float("nan")
    return float(cohen_kappa_score(truth, predicted)), float(f1_score(truth, predicted, zero_division=0.0))


def plain_cv(x: object, y: np.ndarray, folds: list, subsets: dict | None) -> tuple[float, float]:
    """The anchor: TF-IDF defaults + class-balanced logistic regression, 0.5 cut, same folds."""
    predicted = np.zeros(len(y), dtype=bool)
    for k, (train, test) in enumerate(folds):
        train = subsets[k] if subsets is not None else train
        model = LogisticRegression(class_weight="balanced", max_iter=1000).fit(x[train], y[train])
        predicted[test] = model.predict(x[test]).astype(bool)
    return pooled(y, predicted)


def evaluate(corpus: Corpus, sizes: list[int], params: dict | None = None, all_data: bool = True,
             codes: list[str] | None = None) -> dict[str, dict[str, tuple[float, float]]]:
    """code -> {"ours@25": (kappa, F1), "plain@25": ..., "ours@all": ...}."""
    settings = check_params(params)
    x_ours = Features.fit_transform(corpus.texts, settings)[1]
    x_plain = TfidfVectorizer().fit_transform(corpus.raw)
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for code in codes or sorted(corpus.labels):
        y = corpus.labels[code]
        if y.sum() < 8:
            continue
        folds = folds_of(y, corpus.groups, int(settings["folds"]), SEED)
        if not folds:
            continue
        row: dict[str, tuple[float, float]] = {}
        for size in [*sizes, *(["all"] if all_data else [])]:
            subsets = None if size == "all" else training_subsets(y, corpus.groups, folds, int(size), SEED)
            if size != "all" and subsets is None:
                continue
            cv = cross_validate(x_ours, y, corpus.groups, settings, SEED, subsets)
            if cv is None:
                continue
            row[f"ours@{size}"] = pooled(cv.truth, cv.predicted)
            row[f"plain@{size}"] = plain_cv(x_plain, y, folds, subsets)
        out[code] = row
        print(f"  {corpus.name} {code}: " + ", ".join(f"{k} {v[0]:.3f}" for k, v in row.items()), file=sys.stderr,
              flush=True)
    return out


def medians(results: dict[str, dict[str, tuple[float, float]]], keys: list[str]) -> dict[str, tuple[float, float, int]]:
    out = {}
    for key in keys:
        kappas = [r[key][0] for r in results.values() if key in r and np.isfinite(r[key][0])]
        f1s = [r[key][1] for r in results.values() if key in r and np.isfinite(r[key][1])]
        out[key] = (statistics.median(kappas) if kappas else float("nan"),
                    statistics.median(f1s) if f1s else float("nan"), len(kappas))
    return out


def print_quality(name: str, results: dict, sizes: list, extra: dict[str, tuple[float, float, int]] | None = None
                  ) -> None:
    print(f"\n## {name}: median over codes (kappa / F1; codes measured)")
    print("| size | qda suggester | plain TF-IDF + LR | codes |\n|---|---|---|---|")
    for size in [*sizes, "all"]:
        m = medians(results, [f"ours@{size}", f"plain@{size}"])
        o, p = m[f"ours@{size}"], m[f"plain@{size}"]
        if o[2]:
            print(f"| {size} | {o[0]:.3f} / {o[1]:.3f} | {p[0]:.3f} / {p[1]:.3f} | {o[2]} |")
    for label, (k, f, n) in (extra or {}).items():
        print(f"| {label} | {k:.3f} / {f:.3f} | | {n} |")
    print("\nper code (kappa, ours vs plain):")
    for code, row in results.items():
        cells = [f"{s}: {row[f'ours@{s}'][0]:.2f}/{row[f'plain@{s}'][0]:.2f}" for s in [*sizes, "all"]
                 if f"ours@{s}" in row]
        print(f"  {code}: " + "; ".join(cells))
    sys.stdout.flush()


def bench_study(cache: Path, sizes: list[int]) -> None:
    corpus, others = study_corpus(cache)
    results = evaluate(corpus, sizes)
    extra = {}
    trained = list(results)
    for coder, label in (("coder-a", "coder A vs consensus (human)"), ("coder-b", "coder B vs consensus (human)"),
                         ("auto", "dictionary auto-coder vs consensus")):
        pairs = [pooled(corpus.labels[c], others[coder].get(c, np.zeros(len(corpus.raw), dtype=bool)))
                 for c in trained]
        kappas = [k for k, _ in pairs if np.isfinite(k)]
        f1s = [f for _, f in pairs if np.isfinite(f)]
        extra[label] = (statistics.median(kappas), statistics.median(f1s), len(kappas))
    print_quality("reference study, learning from the consensus", results, sizes, extra)


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
        segments = project.store.sizes()["segments"]
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
        first, following = (c.id for c in project.store.codings(coder=model, codes=[codes[1]])[:2])
    command("explain one suggestion", *p, "suggest", "explain", first, "--format", "json")
    with Project.open(folder) as project:  # the workspace's review queue: one process, explain after explain
        timed("explain one suggestion in a running server, first", project.suggest_explain, first)
        timed("explain one suggestion in a running server, next", project.suggest_explain, following)
    command("train every code + cross-validated evaluation", *p, "suggest", "train", "--from", coder,
            "--bootstrap", "200", "--format", "json")
    print(f"\n{sum(ran.get('counts', {}).values()):,} suggestions stored by the run of every code.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="study,nhs-fft,talkmoves,speed")
    parser.add_argument("--sizes", default="25,50,100,200")
    parser.add_argument("--talkmoves-docs", type=int, default=120)
    parser.add_argument("--no-talkmoves-full", action="store_true",
                        help="skip the all-data figure on all 236,182 sentences (the longest step)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "qda-bench-suggest")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    only = set(args.only.split(","))
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"# bench/suggest.py — load average {os.getloadavg()[0]:.2f} at start, {os.cpu_count()} CPUs")
    if "study" in only:
        bench_study(args.cache, sizes)
    if "nhs-fft" in only:
        corpus = read_dataset("nhs-fft")
        print_quality(f"nhs-fft ({len(corpus.raw)} answers, {len(corpus.labels)} codes used)",
                      evaluate(corpus, sizes), sizes)
    if "talkmoves" in only:
        corpus = read_dataset("talkmoves")
        small = corpus.subset(args.talkmoves_docs, SEED)
        cut = evaluate(small, sizes, all_data=True)
        print_quality(f"talkmoves, cut sizes on {small.name}, {len(small.raw)} sentences", cut, sizes)
        if not args.no_talkmoves_full:
            full = evaluate(corpus, [], all_data=True)
            print_quality(f"talkmoves, all {len(corpus.raw)} sentences of {len(np.unique(corpus.groups))} transcripts",
                          full, [])
    if "speed" in only:
        bench_speed(args.cache)


if __name__ == "__main__":
    main()
