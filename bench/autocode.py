"""Dictionary auto-coding benchmark (qda.coding.auto), in memory, no project database.

Generates ~200k words of synthetic French interview answers (half the sentences mention
one of the dictionary's phrases, some misspelt or negated; the others are filler), tokenises them once with ``pipeline("fr")`` (timed separately: this is the
import's cost, not auto-coding's), builds the DocTokens the importer stores, then times
``find_hits`` with a 25-code x 8-pattern dictionary (4 phrase + 4 lemma patterns a code):

* exact + lemma (``fuzzy=False``);
* the same with the fuzzy pass over its long phrases (``fuzzy=True``);
* a 200-pattern all-``fuzzy`` dictionary at threshold 90, next to the rapidfuzz
  baseline it must not fall below: ``partial_ratio`` of every sentence against all 200
  phrases (measured here on the same corpus).

Usage: python bench/autocode.py [--words 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rapidfuzz import fuzz  # noqa: E402

from qda.coding.auto import DocTokens, compile_dictionary, find_hits  # noqa: E402
from qda.ingest.segment import pipeline  # noqa: E402
from qda.models import Code, Codebook, Pattern  # noqa: E402

# (singular, plural) nouns and (masc. sing., fem. plural) adjectives: phrases come in lemma
# form for lemma patterns and in the inflected form the text uses for phrase patterns.
NOUNS = [("foire", "foires"), ("brochure", "brochures"), ("fiche", "fiches"), ("note", "notes"),
         ("publication", "publications"), ("conférence", "conférences"), ("mission", "missions"),
         ("visite", "visites"), ("démonstration", "démonstrations"), ("présentation", "présentations"),
         ("vitrine", "vitrines"), ("annonce", "annonces"), ("formation", "formations"),
         ("référence", "références"), ("lettre", "lettres"), ("revue", "revues"), ("campagne", "campagnes"),
         ("collaboration", "collaborations"), ("exposition", "expositions"), ("rencontre", "rencontres")]
ADJECTIVES = [("commercial", "commerciales"), ("technique", "techniques"), ("scientifique", "scientifiques"),
              ("international", "internationales"), ("professionnel", "professionnelles"),
              ("régional", "régionales"), ("mensuel", "mensuelles"), ("annuel", "annuelles"),
              ("spécialisé", "spécialisées"), ("industriel", "industrielles")]
SUBJECTS = ["Nous", "On", "Notre équipe", "Mon associé", "La directrice des ventes", "Le fondateur"]
VERBS = ["prépare", "envoie", "organise", "utilise", "présente", "finance", "vise", "suit"]
TAILS = ["chaque année", "au Québec", "en Allemagne", "depuis cinq ans", "avec nos distributeurs",
         "pour les clients", "sur le site", "sans trop de budget", "quand le marché le permet"]
NEGATIONS = ["Nous ne faisons pas de", "On n'a jamais eu de", "Pas de", "Nous n'avons plus de"]
FILLER = ["Le marché évolue vite et nos clients demandent des délais plus courts.",
          "Au début, nous étions trois dans un petit local près de l'université.",
          "C'est difficile de recruter des ingénieurs avec cette expérience.",
          "Les distributeurs connaissent bien les laboratoires de leur région.",
          "Je dirais que la qualité du produit reste notre meilleur argument.",
          "Il faut compter six mois avant une première commande importante.",
          "On travaille beaucoup avec les centres de recherche en Europe.",
          "Oui, c'est à peu près ça."]


def phrases() -> list[tuple[str, str]]:
    """200 (lemma form, inflected form) noun phrases."""
    return [(f"{n} {a}", f"{np_} {ap}") for n, np_ in NOUNS for a, ap in ADJECTIVES]


def typo(rng: random.Random, word: str) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1:] if rng.random() < 0.5 else word[:i] + word[i] + word[i:]


def corpus(words: int, seed: int = 11) -> list[str]:
    """Transcripts of ~2,000 words each."""
    rng = random.Random(seed)
    forms = [p[1] for p in phrases()]
    docs, count, lines = [], 0, []
    while count < words:
        if rng.random() < 0.5:
            s = rng.choice(FILLER)
        elif rng.random() < 0.1:
            s = f"{rng.choice(NEGATIONS)} {rng.choice(forms)}."
        else:
            s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} des {rng.choice(forms)} {rng.choice(TAILS)}."
        if rng.random() < 0.1:
            s = " ".join(typo(rng, w) for w in s.split(" "))
        lines.append(s)
        count += len(s.split())
        if len(lines) >= 200:
            docs.append("R : " + " ".join(lines))
            lines = []
    if lines:
        docs.append("R : " + " ".join(lines))
    return docs


def codebook(kind_of: dict[int, str]) -> Codebook:
    """25 codes x 8 patterns; pattern k of a code is ``kind_of[k]``."""
    ph = phrases()
    rng = random.Random(3)
    rng.shuffle(ph)
    codes = []
    for c in range(25):
        pats = []
        for k in range(8):
            lemma_form, inflected = ph[c * 8 + k]
            kind = kind_of[k]
            pats.append(Pattern(lemma_form if kind == "lemma" else inflected, kind))
        codes.append(Code(f"c{c:02d}", {"fr": f"code {c}"}, patterns=tuple(pats)))
    return Codebook("bench", ("fr",), codes=tuple(codes))


def best(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    texts = corpus(args.words)
    words = sum(len(t.split()) for t in texts)
    nlp = pipeline("fr")
    nlp("Chargement.")

    def tokenise():
        docs, segs = [], {}
        for i, (text, doc) in enumerate(zip(texts, nlp.pipe(texts, batch_size=4))):
            name = f"T{i:04d}"
            toks = [t for t in doc if not t.is_space]
            docs.append(DocTokens(name, text, tuple(t.idx for t in toks), tuple(t.idx + len(t.text) for t in toks),
                                  tuple(t.lower_ for t in toks), tuple((t.lemma_ or t.text).lower() for t in toks)))
            segs[name] = [(f"{name}#{k + 1}", s.start_char, s.end_char) for k, s in enumerate(doc.sents)]
        return docs, segs

    rows = []
    seconds, (docs, segments) = best(tokenise, 1)
    rows.append(("spaCy pipeline('fr') tokenise + lemmatise (import, once)", seconds, None))

    mixed = codebook({k: "phrase" if k < 4 else "lemma" for k in range(8)})
    seconds, dictionary = best(lambda: compile_dictionary(mixed, "fr"), 1)
    rows.append(("compile 25 x 8 dictionary (lemmatise 100 patterns)", seconds, None))
    seconds, hits = best(lambda: find_hits(dictionary, docs, segments, language="fr", fuzzy=False), args.repeat)
    rows.append(("find_hits exact + lemma (fuzzy=False)", seconds, len(hits)))
    long_phrases = sum(1 for item in dictionary.fuzzy.items if item.from_phrase)
    seconds, hits = best(lambda: find_hits(dictionary, docs, segments, language="fr", fuzzy=True), args.repeat)
    rows.append((f"find_hits exact + lemma + fuzzy pass ({long_phrases} long phrases)", seconds, len(hits)))

    fuzzy_book = codebook({k: "fuzzy" for k in range(8)})
    fuzzy_dict = compile_dictionary(fuzzy_book, "fr")
    seconds, hits = best(lambda: find_hits(fuzzy_dict, docs, segments, language="fr"), args.repeat)
    rows.append(("find_hits 200 fuzzy patterns, threshold 90", seconds, len(hits)))

    needles = [item.needle for item in fuzzy_dict.fuzzy.items]
    sentences = [d.text[s:e].lower() for d in docs for _, s, e in segments[d.document]]

    def baseline():
        n = 0
        for sent in sentences:
            for needle in needles:
                if fuzz.partial_ratio(needle, sent, score_cutoff=90):
                    n += 1
        return n
    seconds, n = best(baseline, 1)
    rows.append(("baseline: partial_ratio >= 90, every sentence x 200 phrases (pairs)", seconds, n))

    print(f"{words:,} words, {len(docs)} documents, {len(sentences):,} segments "
          f"(min of {args.repeat} runs for find_hits)\n")
    print("| step | seconds | words/s | hits |\n|---|---:|---:|---:|")
    for name, sec, count in rows:
        print(f"| {name} | {sec:.3f} | {words / sec:,.0f} | {'' if count is None else f'{count:,}'} |")


if __name__ == "__main__":
    main()
