"""Dictionary auto-coding: phrase, lemma, regex and fuzzy patterns, negation (fr + en)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qda.codebook import load_codebook
from qda.coding.auto import DocTokens, Hit, compile_dictionary, find_hits
from qda.errors import CodebookError
from qda.ingest.segment import pipeline
from qda.models import Code, Codebook, Pattern

ROOT = Path(__file__).resolve().parent.parent


def tokenise(name: str, text: str, language: str = "fr") -> tuple[DocTokens, list[tuple[str, int, int]]]:
    """DocTokens as the importer stores them, and one segment per sentence."""
    doc = pipeline(language)(text)
    toks = [t for t in doc if not t.is_space]
    english = "lemmatizer" not in pipeline(language).pipe_names
    tokens = DocTokens(name, text, tuple(t.idx for t in toks), tuple(t.idx + len(t.text) for t in toks),
                       tuple(t.lower_ for t in toks),
                       tuple(t.lower_ if english else (t.lemma_ or t.text).lower() for t in toks))
    segments = []
    for i, sent in enumerate(doc.sents):
        raw = sent.text
        start = sent.start_char + len(raw) - len(raw.lstrip())
        if raw.strip():
            segments.append((f"{name}#{i + 1}", start, start + len(raw.strip())))
    return tokens, segments


def book(*codes: tuple[str, list[Pattern]], languages: tuple[str, ...] = ("fr", "en")) -> Codebook:
    return Codebook("test", languages, codes=tuple(Code(cid, {"fr": cid}, patterns=tuple(pats))
                                                  for cid, pats in codes))


def run(codebook: Codebook, text: str, language: str = "fr", **kwargs) -> list[tuple[str, str, str, bool]]:
    """(code, matched text, kind, negated) of every hit."""
    tokens, segments = tokenise("D", text, language)
    hits = find_hits(compile_dictionary(codebook, language), [tokens], {"D": segments}, language=language, **kwargs)
    return [(h.code, text[h.start:h.end], h.kind, h.negated) for h in hits]


def codes(codebook: Codebook, text: str, language: str = "fr", **kwargs) -> list[str]:
    return [h[1] for h in run(codebook, text, language, **kwargs)]


# --------------------------------------------------------------------------- exact phrases

def test_phrase_needs_word_boundaries() -> None:
    cb = book(("b", [Pattern("démo")]))
    assert codes(cb, "Nous faisons une démonstration. Puis une démo en ligne.") == ["démo"]
    assert codes(cb, "Les démos et la prédémo.") == []
    both = book(("b", [Pattern("démo"), Pattern("démonstration")]))
    assert codes(both, "Nous faisons une démonstration.") == ["démonstration"]


def test_phrase_is_case_insensitive_with_apostrophes_and_spaces_equivalent() -> None:
    cb = book(("a", [Pattern("Facebook")]), ("e", [Pattern("bulletin d'information")]),
              ("d", [Pattern("info@")]), ("g", [Pattern("Google Analytics")]))
    text = ("Nous sommes sur FACEBOOK et facebook. Un bulletin d’information part chaque mois. "
            "Écrivez à info@laser.ca pour commander. Nous suivons Google   Analytics.")
    assert run(cb, text, fuzzy=False) == [
        ("a", "FACEBOOK", "phrase", False), ("a", "facebook", "phrase", False),
        ("e", "bulletin d’information", "phrase", False), ("d", "info@", "phrase", False),
        ("g", "Google   Analytics", "phrase", False)]
    curly = book(("e", [Pattern("bulletin d’information")]))
    assert codes(curly, "Le bulletin d'information part.") == ["bulletin d'information"]


def test_hits_are_attached_to_their_segment_and_record_the_pattern() -> None:
    cb = book(("a", [Pattern("LinkedIn")]))
    tokens, segments = tokenise("E1", "Bonjour. Nous publions sur LinkedIn chaque semaine.")
    hits = find_hits(compile_dictionary(cb, "fr"), [tokens], {"E1": segments}, language="fr")
    assert hits == [Hit("a", "E1", "E1#2", 27, 35, "LinkedIn", "phrase", False)]
    # a hit outside every segment (e.g. an interviewer turn not segmented) is not reported
    assert find_hits(compile_dictionary(cb, "fr"), [tokens], {"E1": segments[:1]}, language="fr") == []


# --------------------------------------------------------------------------- lemmas

def test_lemma_patterns_match_inflected_forms() -> None:
    cb = book(("h", [Pattern("foire commercial", "lemma"), Pattern("salon professionnel", "lemma")]),
              ("p", [Pattern("brochure", "lemma")]), ("e", [Pattern("bulletin d'information", "lemma")]))
    text = ("Nous allons aux foires commerciales. Les salons professionnels coûtent cher. "
            "Nos brochures sont prêtes. Le bulletin d’information est envoyé.")
    assert run(cb, text) == [
        ("h", "foires commerciales", "lemma", False), ("h", "salons professionnels", "lemma", False),
        ("p", "brochures", "lemma", False), ("e", "bulletin d’information", "lemma", False)]


def test_lemma_patterns_are_lemmatised_in_a_carrier_sentence() -> None:
    cb = book(("k", [Pattern("vente", "lemma")]))
    dictionary = compile_dictionary(cb, "fr")
    assert dictionary.entries[0].form == "vente"  # alone, spaCy says "vent"
    assert codes(cb, "Nos ventes augmentent. Le vent souffle.") == ["ventes"]


def test_lemma_patterns_match_whole_tokens_only() -> None:
    cb = book(("h", [Pattern("salon", "lemma")]))
    assert codes(cb, "Le salonnier arrive. Un salon ouvre.") == ["salon"]


# --------------------------------------------------------------------------- longest match

def test_longest_match_wins_within_a_code_but_other_codes_still_count() -> None:
    cb = book(("h", [Pattern("salon", "lemma"), Pattern("salon professionnel", "lemma"), Pattern("salons")]),
              ("z", [Pattern("professionnel", "lemma")]), ("y", [Pattern("salon", "lemma")]))
    assert run(cb, "Les salons professionnels sont utiles.") == [
        ("y", "salons", "lemma", False), ("h", "salons professionnels", "lemma", False),
        ("z", "professionnels", "lemma", False)]


# --------------------------------------------------------------------------- regex and fuzzy

def test_regex_patterns() -> None:
    cb = book(("b", [Pattern(r"\bd[ée]mo(?:nstration)?s? (?:en ligne|par (?:zoom|teams))", "regex")]))
    assert run(cb, "Une DÉMO par Zoom, puis des démonstrations en ligne. Une démo tout court.") == [
        ("b", "DÉMO par Zoom", "regex", False), ("b", "démonstrations en ligne", "regex", False)]


def test_fuzzy_patterns_find_misspellings_at_their_threshold() -> None:
    text = "Nous allons aux foirres comercialles chaque année."
    assert run(book(("h", [Pattern("foires commerciales", "fuzzy", threshold=85)])), text) == [
        ("h", "foirres comercialles", "fuzzy", False)]
    assert run(book(("h", [Pattern("foires commerciales", "fuzzy", threshold=99)])), text) == []
    # whole words only: a short fuzzy pattern does not fire inside a longer word
    assert codes(book(("b", [Pattern("démo", "fuzzy", threshold=80)])), "Une démonstration.") == []


def test_fuzzy_pass_extends_to_long_phrases_and_skips_exact_spans() -> None:
    cb = book(("g", [Pattern("Google Analytics"), Pattern("analytics")]))
    text = "Nous utilisons Gogle Analytics. Et Google Analytics aussi."
    assert run(cb, text) == [("g", "Gogle Analytics", "fuzzy", False), ("g", "Google Analytics", "phrase", False)]
    assert run(cb, text, fuzzy=False) == [("g", "Analytics", "phrase", False),
                                          ("g", "Google Analytics", "phrase", False)]
    # explicit fuzzy patterns run even with fuzzy=False; a span found exactly is not repeated
    fz = book(("h", [Pattern("foires commerciales", "fuzzy", threshold=85), Pattern("foire commercial", "lemma")]))
    assert run(fz, "Les foires commerciales et les foirres comercialles.", fuzzy=False) == [
        ("h", "foires commerciales", "lemma", False), ("h", "foirres comercialles", "fuzzy", False)]


# --------------------------------------------------------------------------- negation

NEG_FR = book(("a", [Pattern("Facebook")]), ("h", [Pattern("foire commercial", "lemma")]),
              ("p", [Pattern("brochure", "lemma")]), ("u", [Pattern("référer", "lemma")]),
              ("t", [Pattern("salon", "lemma")]))


@pytest.mark.parametrize("text", [
    "Nous ne sommes pas sur Facebook.",
    "On n'a jamais fait de foires commerciales.",
    "On n’a jamais fait de foires commerciales.",
    "Pas de brochure.",
    "Nous n'allons plus aux salons.",
    "Nous ne référons pas nos clients.",
    "Nous le faisons sans brochure.",
    "On fait pas de salons.",
])
def test_french_negated_mentions(text: str) -> None:
    assert run(NEG_FR, text) == []
    flagged = run(NEG_FR, text, negation="flag")
    assert len(flagged) == 1 and flagged[0][3] is True
    assert [h[3] for h in run(NEG_FR, text, negation="ignore")] == [False]


@pytest.mark.parametrize("text", [
    "Non, mais on va aux foires commerciales.",
    "Les foires commerciales, on y va chaque année.",
    "Nous ne sommes pas riches, mais nous allons aux foires commerciales.",
    "Non seulement nous allons aux salons, nous les organisons.",
    "On fait pas mal de salons.",
    "Nous allons plus souvent aux salons.",
    "Nous n'avons pas de budget; nous allons aux salons.",
    "Nous n'avons pas de budget par contre nous allons aux salons.",
])
def test_french_mentions_that_are_not_negated(text: str) -> None:
    assert len(run(NEG_FR, text)) == 1
    assert [h[3] for h in run(NEG_FR, text, negation="flag")] == [False]


NEG_EN = book(("h", [Pattern("trade shows"), Pattern("trade fairs")]), ("a", [Pattern("LinkedIn")]),
              ("e", [Pattern("newsletter", "lemma")]))


@pytest.mark.parametrize("text", [
    "We don't do trade shows.",
    "We don’t do trade shows.",
    "We are not on LinkedIn.",
    "No newsletter.",
    "We never go to trade fairs.",
    "We did it without LinkedIn.",
    "We cannot afford trade shows.",
])
def test_english_negated_mentions(text: str) -> None:
    assert run(NEG_EN, text, "en") == []
    assert [h[3] for h in run(NEG_EN, text, "en", negation="flag")] == [True]


def test_english_second_mention_after_a_boundary_is_not_negated() -> None:
    text = "We never stopped going to trade fairs, and we still go to trade fairs."
    assert run(NEG_EN, text, "en", negation="flag") == [("h", "trade fairs", "phrase", True),
                                                        ("h", "trade fairs", "phrase", False)]
    assert run(NEG_EN, text, "en") == [("h", "trade fairs", "phrase", False)]
    assert [h[3] for h in run(NEG_EN, "Not only trade shows, but also LinkedIn.", "en", negation="flag")] == \
        [False, False]
    assert run(NEG_EN, "We are on LinkedIn but not at trade shows.", "en", negation="flag") == [
        ("a", "LinkedIn", "phrase", False), ("h", "trade shows", "phrase", True)]


def test_negation_stays_inside_the_segment() -> None:
    # the cue ends the previous sentence; the window does not cross into it
    assert run(NEG_FR, "Pas du tout. Facebook nous aide.") == [("a", "Facebook", "phrase", False)]


# --------------------------------------------------------------------------- languages, errors, codebook

def test_lang_restricts_patterns_to_documents_of_that_language() -> None:
    cb = book(("h", [Pattern("salon", "lemma", lang="fr"), Pattern("trade show", lang="en")]))
    assert codes(cb, "Un salon. Un trade show.", "fr") == ["salon"]
    assert codes(cb, "A salon. A trade show.", "en") == ["trade show"]


def test_bad_patterns_and_wrong_language_are_reported() -> None:
    with pytest.raises(CodebookError) as err:
        compile_dictionary(book(("x", [Pattern("(unclosed", "regex"), Pattern("  ")])), "fr")
    assert len(err.value.problems) == 2 and "code 'x'" in str(err.value)
    dictionary = compile_dictionary(book(("a", [Pattern("Facebook")])), "fr")
    with pytest.raises(ValueError):
        find_hits(dictionary, [], {}, language="en")
    with pytest.raises(ValueError):
        find_hits(dictionary, [], {}, language="fr", negation="maybe")


def test_reference_codebook_compiles_and_results_are_sorted_and_deterministic() -> None:
    dictionary = compile_dictionary(load_codebook(ROOT / "codebooks" / "communication-tools.yaml"), "fr")
    docs = [tokenise("E2", "Nous allons aux salons professionnels. Nous ne sommes pas sur Facebook."),
            tokenise("E1", "Nos fiches techniques et une démo par Zoom. Le bouche à oreille marche. "
                           "Notre ingénieur d'application répond.")]
    segments = {name: segs for (tokens, segs), name in zip(docs, ("E2", "E1"))}
    first = find_hits(dictionary, [d for d, _ in docs], segments, language="fr", negation="flag")
    again = find_hits(dictionary, [d for d, _ in reversed(docs)], segments, language="fr", negation="flag")
    assert first == again
    assert [(h.document, h.code, h.negated) for h in first] == [
        ("E1", "o", False), ("E1", "b", False), ("E1", "u", False), ("E1", "y", False),
        ("E2", "h", False), ("E2", "a", True)]


def test_fuzzy_prefilter_loses_nothing_that_partial_ratio_would_find() -> None:
    """The q-gram pre-filter is lossless: same pairs as partial_ratio on every segment."""
    import random

    import numpy as np
    from rapidfuzz import fuzz

    from qda.coding.auto import _Fuzzy, _FuzzyIndex

    rng = random.Random(5)
    words = ["foires", "commerciales", "salons", "professionnels", "démo", "brochure", "fiches", "techniques",
             "nous", "allons", "aux", "et", "des", "linkedin", "bulletin", "d'information"]

    def noisy(word: str) -> str:
        if len(word) > 3 and rng.random() < 0.4:
            i = rng.randrange(len(word))
            return word[:i] + rng.choice("aeiourst") + word[i + (rng.random() < 0.5):]
        return word

    texts = [" ".join(noisy(rng.choice(words)) for _ in range(rng.randint(1, 12))) for _ in range(400)]
    needles = ["foires commerciales", "salons professionnels", "démo", "brochure", "fiches techniques",
               "bulletin d'information", "linkedin"]
    for threshold in (70, 80, 85, 90, 95):
        index = _FuzzyIndex([_Fuzzy(k, n, threshold, False) for k, n in enumerate(needles)])
        found = {(k, r) for k, rows in index.candidates(texts, {}, np.ones(len(needles), bool)) for r in rows}
        expected = {(k, r) for k, n in enumerate(needles) for r, t in enumerate(texts)
                    if fuzz.partial_ratio(n, t) >= threshold}
        assert found == expected, threshold
