"""Dictionary auto-coding: the codebook's patterns applied to tokenised documents.

:func:`compile_dictionary` compiles every pattern of a codebook once, for one language;
:func:`find_hits` applies them to the token tables stored at import (:class:`DocTokens`)
and attaches each hit to the segment that contains it. Nothing here runs the spaCy
pipeline over documents (lemmas were computed at import); only lemma *patterns* are
lemmatised, once, at compile time.

Pattern kinds
-------------
``phrase``
    Matched on the document text, case-insensitively, on word boundaries (a phrase that
    starts or ends with a letter or digit does not match inside a longer word: "démo"
    does not match "démonstration"). The apostrophes ' ’ ‘ ʼ ＇ are equivalent; any run
    of whitespace in the text matches a space of the phrase.
``lemma``
    The phrase is lemmatised with the language's spaCy pipeline *inside a carrier
    sentence* ("Nous parlons de {phrase} ici." / "We talk about {phrase} here."; a word
    lemmatised alone is often mis-tagged: "vente" -> "vent"), lower-cased, and matched
    on the document's sequence of lower-cased lemmas, whole tokens only. "foire
    commercial" therefore matches "foires commerciales". French elided words are
    normalised on both sides (d' -> de, l' -> le, n' -> ne...). Without a lemmatizer
    (the English pipeline) the lemma of a word is the word lower-cased.
``regex``
    A Python regular expression, compiled with ``re.IGNORECASE``, searched in the text.
``fuzzy``
    Approximate matching for misspelt transcripts with rapidfuzz: the best alignment of
    the pattern in a segment (``fuzz.partial_ratio_alignment``) is widened to whole
    words and kept when ``fuzz.ratio`` of the pattern and those words reaches the
    pattern's ``threshold`` (else the dictionary's, 90 by default). With
    ``find_hits(fuzzy=True)`` (the default) every ``phrase`` pattern of 8 characters or
    more is also searched this way. A fuzzy hit overlapping a hit of the same code found
    exactly is dropped, unless it strictly contains it (then the exact one, shorter, is).

Exact phrases and lemma phrases are each compiled into ONE regular expression factored
as a trie (one pass per document, no loop over phrases x segments). At every word start
the longest phrase wins; shorter phrases of *other* codes at the same place, or inside
the longer one, are reported too. Within one code, a hit contained in another hit of the
same code is dropped, so each code is reported once per span (the pattern kept is the
longest; on equal spans, the first in codebook order). Patterns with ``lang`` apply only
to documents of that language; codes with ``codable: false`` are skipped.

Negation
--------
A hit is *negated* when, in the same segment, scanning back from the hit over at most
:data:`WINDOW` (6) tokens and stopping at the first clause boundary, one finds

* a negation word: French ``pas jamais rien aucun aucune sans non ni guère nullement``;
  English ``not n't never no without none neither nor cannot`` and apostrophe-less
  contractions (``dont``, ``didnt``, ``cant``...) or any word ending in ``n't``;
  except when the word after it makes it a non-negation: ``non seulement``,
  ``pas seulement / pas mal / pas que / pas uniquement / pas juste``, ``sans doute``,
  ``not only / not just``, ``no doubt / no matter``;
* or (French) ``ne``/``n'`` with a second part ``pas jamais plus aucun aucune rien guère
  point nullement`` either between ``ne`` and the hit, or right after the verb that
  follows ``ne`` (skipping clitic pronouns: le la les l' lui leur y en me te se nous
  vous), which may lie after the hit: "nous ne référons pas nos clients".

Spanish, Portuguese, Italian and German have their own cue lists (``no nunca nada sin``…,
``não nunca nem sem``…, ``non mai niente senza``…, ``nicht nie kein nichts ohne``…; see
``_CUES`` and the grammars cited there), with "not only" exceptions (``no solo``, ``não só``,
``non solo``, ``nicht nur``) and, in German, a clause-final ``nicht`` after the hit ("wir
nutzen LinkedIn nicht"). Other languages: no negation is looked for.

Clause boundaries: ``, ; : . ! ? …`` and the words ``mais but however cependant`` and
``par contre`` (and ``pero sino``, ``porém contudo``, ``ma però tuttavia``, ``aber sondern
jedoch`` in their languages). A cue after the boundary counts; one before it does not.

Negated: "nous ne sommes pas sur Facebook", "on n'a jamais fait de foires
commerciales", "pas de brochure", "we don't do trade shows", "we are not on LinkedIn",
"no newsletter". Not negated: "Non, mais on va aux foires commerciales" (boundary),
"les foires commerciales, on y va chaque année" (no cue before), the second mention in
"we never stopped going to trade fairs, and we still go to trade fairs" (the first one
is negated: double negation is not analysed).

``find_hits(negation="skip")`` drops negated hits, ``"flag"`` keeps them with
``negated=True``, ``"ignore"`` does not look for negation.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from rapidfuzz import fuzz, process
from regex import error as regex_error

from qda.errors import AgreementError, CodebookError, NotFoundError, Problem
from qda.ingest.languages import from_key, lemma_table
from qda.ingest.languages import support as language_support
from qda.ingest.segment import pipeline, pipeline_version
from qda.models import Codebook, Coding, CodingScope, CodingStatus, NegationMode, Pattern, Segment, WritePlan
from qda.regexes import RegexTimeout, compile_user
from qda.regexes import spans as regex_spans
from qda.results import Column, Note, Progress, Row, TableView, json_dict, no_progress

if TYPE_CHECKING:
    import pandas as pd

    from qda.analysis import DocumentTokens, SearchCoding, SearchResult

KINDS = ("phrase", "lemma", "regex", "fuzzy")
NEGATION_MODES = tuple(NegationMode)
WINDOW = 6  # tokens scanned back from a hit for a negation cue
FUZZY_PHRASE_MIN = 8  # phrase patterns this long are also searched fuzzily when fuzzy=True
DEFAULT_FUZZY_THRESHOLD = 90.0
CARRIERS = {"fr": ("Nous parlons de ", " ici."), "en": ("We talk about ", " here.")}

_APOSTROPHES = ("\u2019", "\u2018", "\u02bc", "\uff07", "\u2032")
_WORD = re.compile(r"\w")
_SPACES = re.compile(r"\s+")
# French elided words: their lemma differs with the apostrophe used ("d'" -> "de", "d’" -> "d’").
_ELISIONS = {"c": "ce", "d": "de", "j": "je", "l": "le", "m": "me", "n": "ne", "s": "se", "t": "te",
             "qu": "que", "jusqu": "jusque", "lorsqu": "lorsque", "puisqu": "puisque", "quoiqu": "quoique"}
_ELIDED = {f"{k}{a}": v for k, v in _ELISIONS.items() for a in ("'",) + _APOSTROPHES}
_ELISION_RE = re.compile(r"(?<![^ ])(" + "|".join(sorted(_ELISIONS, key=len, reverse=True)) + r")'(?![^ ])")


# --------------------------------------------------------------------------- values

@dataclass(frozen=True)
class DocTokens:
    """A document's token table as stored at import (offsets are code points into ``text``).

    ``lower`` is each token lower-cased, ``lemma`` its lower-cased lemma (English: the
    lower-cased word). Whitespace tokens are left out. ``starts``/``ends`` may be tuples
    or ``array('i')``.
    """

    document: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    lower: tuple[str, ...]
    lemma: tuple[str, ...]


@dataclass(frozen=True)
class Hit:
    """A pattern found in a segment; ``pattern`` is the pattern as written in the codebook.

    ``kind`` is how it matched: ``phrase``, ``lemma``, ``regex`` or ``fuzzy`` (a phrase
    pattern found approximately is reported with kind ``fuzzy``).
    """

    code: str
    document: str
    segment_ref: str
    start: int
    end: int
    pattern: str
    kind: str
    negated: bool = False


@dataclass(frozen=True)
class Entry:
    """One compiled pattern: its code, the pattern, and the form actually matched."""

    index: int  # codebook order
    code: str
    pattern: Pattern
    form: str  # folded phrase, lemma sequence, regex source, or fuzzy string


# --------------------------------------------------------------------------- text helpers

def _lower_keep_length(text: str) -> str:
    """Lower-case and unify apostrophes without changing the length (offsets stay valid)."""
    low = text.lower()
    if len(low) != len(text):  # e.g. 'İ' lower-cases to two code points
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    for a in _APOSTROPHES:
        if a in low:
            low = low.replace(a, "'")
    return low


def _norm_phrase(value: str) -> str:
    return _SPACES.sub(" ", _lower_keep_length(unicodedata.normalize("NFC", value))).strip()


def _is_word(ch: str) -> bool:
    return bool(_WORD.match(ch))


# --------------------------------------------------------------------------- trie-factored regex

class _PhraseSet:
    """Many phrases in one trie-factored regex; finds every phrase at every start.

    ``tokens=False``: phrases over folded text, whitespace runs flexible, word
    boundaries where a phrase starts/ends with a word character. ``tokens=True``: over a
    string of lemmas joined by single spaces, whole tokens only.
    """

    def __init__(self, phrases: dict[str, list[int]], tokens: bool) -> None:
        self.tokens = tokens
        self.root: dict[str, Any] = {}
        for phrase, ids in phrases.items():
            node = self.root
            for ch in phrase:
                node = node.setdefault(ch, {})
            node.setdefault("", []).extend(ids)
        body = "|".join(self._edge(ch, child) for ch, child in sorted(self._children(self.root)))
        # One look-behind for all phrases (a look-behind in each alternative is 10x slower).
        # Text phrases that start with a non-word character ("@x") cannot share it: then the
        # start boundary of the others is checked in find().
        self.check_start = not tokens and not all(_is_word(ch) for ch in self.root if ch)
        lead = "(?<![^ ])" if tokens else ("" if self.check_start else r"(?<!\w)")
        self.regex = re.compile(f"{lead}(?=((?:{body})))")
        # for every phrase, the phrases that are prefixes of it (itself included), longest first
        self.prefixes: dict[str, list[tuple[int, list[int]]]] = {}
        for phrase in phrases:
            node, chain = self.root, []
            for i, ch in enumerate(phrase):
                node = node[ch]
                if "" in node:
                    chain.append((i + 1, node[""]))
            self.prefixes[phrase] = chain[::-1]

    @staticmethod
    def _children(node: dict[str, Any]) -> list[tuple[str, Any]]:
        return [(k, v) for k, v in node.items() if k]

    def _atom(self, ch: str) -> str:
        if ch == " ":
            return " " if self.tokens else r"\s+"
        return re.escape(ch)

    def _end(self, last: str) -> str:
        if self.tokens:
            return "(?![^ ])"
        return r"(?!\w)" if _is_word(last) else ""

    def _edge(self, ch: str, child: dict[str, Any]) -> str:
        return self._atom(ch) + self._node(child, ch)

    def _node(self, node: dict[str, Any], last: str) -> str:
        alts = [self._edge(ch, child) for ch, child in sorted(self._children(node))]
        if "" in node:
            alts.append(self._end(last))  # last: longer phrases are tried first
        if len(alts) == 1:
            return alts[0]
        return "(?:" + "|".join(alts) + ")"

    def _ends_ok(self, s: str, i: int, last: str) -> bool:
        if i >= len(s):
            return True
        if self.tokens:
            return s[i] == " "
        return not (_is_word(last) and _is_word(s[i]))

    def find(self, s: str) -> list[tuple[int, int, int]]:
        """(start, end, phrase id) of every phrase found, longest first at each start."""
        out: list[tuple[int, int, int]] = []
        prefixes = self.prefixes
        for m in self.regex.finditer(s):
            p = m.start(1)
            if self.check_start and p > 0 and _is_word(s[p]) and _is_word(s[p - 1]):
                continue
            text = m.group(1)
            key = text if self.tokens else " ".join(text.split())
            same = key == text
            for size, ids in prefixes[key]:
                # with whitespace runs in the text, find where the key's prefix ends
                end = p + (size if same else self._offset(text, size))
                if size == len(key) or self._ends_ok(s, end, s[end - 1]):
                    out.extend((p, end, pid) for pid in ids)
        return out

    @staticmethod
    def _offset(text: str, size: int) -> int:
        """Length of the prefix of ``text`` whose whitespace-collapsed form has ``size`` characters."""
        n, i, prev_space = 0, 0, False
        while i < len(text) and n < size:
            if text[i].isspace():
                if not prev_space:
                    n += 1
                prev_space = True
            else:
                n += 1
                prev_space = False
            i += 1
        return i


# --------------------------------------------------------------------------- fuzzy index

@dataclass
class _Fuzzy:
    entry: int
    needle: str
    threshold: float
    from_phrase: bool


class _FuzzyIndex:
    """Fuzzy needles with a lossless q-gram pre-filter.

    A window W of a segment reaching ``partial_ratio >= t`` against a needle of length L
    is within Indel distance d = floor((1 - t/100) * 2L) of it, and each edit destroys at
    most q of the needle's q-grams, so at least n_q - q*d of the needle's (space-free)
    q-gram positions appear in the segment. Segments below that count are not compared.
    """

    def __init__(self, items: list[_Fuzzy]) -> None:
        self.items = items
        vocab: dict[str, int] = {}
        postings: list[dict[int, int]] = []  # gram id -> {item: positions}
        bounds, always, lengths = [], [], []
        self.qs: set[int] = set()
        for k, item in enumerate(items):
            n = len(item.needle)
            d = int((1 - item.threshold / 100) * 2 * n + 1e-9)
            chosen: list[str] = []
            bound = 0
            for q in (3, 2):
                grams = [item.needle[i:i + q] for i in range(n - q + 1)]
                grams = [g for g in grams if not any(ch.isspace() for ch in g)]
                if len(grams) - q * d > 0:
                    chosen, bound = grams, len(grams) - q * d
                    self.qs.add(q)
                    break
            for g in chosen:
                gid = vocab.setdefault(g, len(vocab))
                if gid == len(postings):
                    postings.append({})
                postings[gid][k] = postings[gid].get(k, 0) + 1
            bounds.append(bound)
            always.append(not chosen)
            lengths.append(n)
        self.vocab = vocab
        indptr = [0]
        pats: list[int] = []
        weights: list[int] = []
        for post in postings:
            for k in sorted(post):
                pats.append(k)
                weights.append(post[k])
            indptr.append(len(pats))
        self.indptr = np.asarray(indptr, dtype=np.int64)
        self.pats = np.asarray(pats, dtype=np.int64)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.bounds = np.asarray(bounds, dtype=np.float64)
        self.always = np.asarray(always, dtype=bool)
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self._codes: dict[int, tuple[np.ndarray, np.ndarray]] | None = None

    def _chunk_ids(self, chunk: str) -> tuple[int, ...]:
        ids = set()
        for q in self.qs:
            for i in range(len(chunk) - q + 1):
                gid = self.vocab.get(chunk[i:i + q])
                if gid is not None:
                    ids.add(gid)
        return tuple(ids)

    def _gram_codes(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Per gram size: the grams as integers (sorted) and their ids."""
        if self._codes is None:
            by_size: dict[int, list[tuple[int, int]]] = {}
            for gram, gid in self.vocab.items():
                code = 0
                for ch in gram:
                    code = (code << 21) | ord(ch)
                by_size.setdefault(len(gram), []).append((code, gid))
            self._codes = {q: (np.asarray([c for c, _ in sorted(pairs)], dtype=np.int64),
                               np.asarray([g for _, g in sorted(pairs)], dtype=np.int64))
                           for q, pairs in by_size.items()}
        return self._codes

    def candidates(self, texts: Sequence[str], memo: dict[str, tuple[int, ...]],
                   active: np.ndarray) -> list[tuple[int, list[int]]]:
        """For each item, the texts that pass the q-gram filter and ``partial_ratio``.

        ``memo`` is not needed any more (kept for callers)."""
        n, npat = len(texts), len(self.items)
        if not n or not npat:
            return []
        # The distinct q-grams of each text, found with arrays: the texts joined by a line
        # break (no gram holds a space, so none spans two texts, and a gram lies in a text
        # exactly when it lies in one of its words), every position's q characters as one
        # integer, looked up among the grams' integers.
        joined = "\n".join(texts)
        chars = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        sizes = np.fromiter(map(len, texts), dtype=np.int64, count=n)
        text_starts = np.cumsum(sizes + 1) - (sizes + 1)
        found = []
        for q, (codes, ids) in self._gram_codes().items():
            if len(chars) < q:
                continue
            code = chars[:len(chars) - q + 1].copy()
            for j in range(1, q):
                code = (code << 21) | chars[j:len(chars) - q + 1 + j]  # code points fit in 21 bits
            at = np.minimum(np.searchsorted(codes, code), len(codes) - 1)
            hit = np.flatnonzero(codes[at] == code)
            found.append((np.searchsorted(text_starts, hit, side="right") - 1) * len(self.vocab) + ids[at[hit]])
        score = np.zeros(n * npat, dtype=np.float64)
        pairs = np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
        if len(pairs):
            c = pairs % len(self.vocab)
            row_of = pairs // len(self.vocab)
            count = self.indptr[c + 1] - self.indptr[c]
            total = int(count.sum())
            if total:
                first = np.repeat(self.indptr[c] - (np.cumsum(count) - count), count) + np.arange(total)
                rr = np.repeat(row_of, count)
                score = np.bincount(rr * npat + self.pats[first], weights=self.weights[first],
                                    minlength=n * npat).astype(np.float64)
        grid = score.reshape(n, npat)
        ok = (grid >= self.bounds[None, :]) | self.always[None, :] | (sizes[:, None] < self.lengths[None, :])
        ok &= active[None, :]
        out = []
        for k in np.nonzero(ok.any(axis=0))[0].tolist():
            hits = np.nonzero(ok[:, k])[0]
            item = self.items[k]
            if len(hits) > 4:  # partial_ratio in C, on all cores, before the aligning loop in Python
                scores = process.cdist([item.needle], [texts[r] for r in hits.tolist()], scorer=fuzz.partial_ratio,
                                       score_cutoff=item.threshold, dtype=np.float32,
                                       workers=-1 if len(hits) > 2000 else 1)[0]
                hits = hits[scores >= item.threshold]
            if len(hits):
                out.append((k, hits.tolist()))
        return out


def _word_spans(seg: str, a: int, b: int, needle: str) -> set[tuple[int, int]]:
    """Whole-word versions of the alignment [a, b): a cut word at either end is either
    completed or dropped; spaces (and punctuation the needle does not have) are trimmed."""
    starts, ends = {a}, {b}
    if 0 < a < len(seg) and _is_word(seg[a - 1]) and _is_word(seg[a]):
        w = a
        while w > 0 and _is_word(seg[w - 1]):
            w -= 1
        starts = {w}
        while a < len(seg) and _is_word(seg[a]):
            a += 1
        starts.add(a)
    if 0 < b < len(seg) and _is_word(seg[b - 1]) and _is_word(seg[b]):
        w = b
        while w < len(seg) and _is_word(seg[w]):
            w += 1
        ends = {w}
        while b > 0 and _is_word(seg[b - 1]):
            b -= 1
        ends.add(b)
    head_word, tail_word = _is_word(needle[0]), _is_word(needle[-1])
    spans = set()
    for x in starts:
        for y in ends:
            while x < y and (seg[x].isspace() or (head_word and not _is_word(seg[x]))):
                x += 1
            while y > x and (seg[y - 1].isspace() or (tail_word and not _is_word(seg[y - 1]))):
                y -= 1
            if y > x:
                spans.add((x, y))
    return spans


def _fuzzy_in(seg: str, needle: str, threshold: float) -> list[tuple[int, int]]:
    """Whole-word spans of ``seg`` matching ``needle`` at ``threshold`` (left to right)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while pos < len(seg):
        al = fuzz.partial_ratio_alignment(needle, seg[pos:], score_cutoff=threshold)
        if al is None or al.score < threshold:
            break
        options = [(fuzz.ratio(needle, _SPACES.sub(" ", seg[x:y])), x, y)
                   for x, y in _word_spans(seg, pos + al.dest_start, pos + al.dest_end, needle)]
        score, x, y = max(options, key=lambda o: (o[0], o[2] - o[1], -o[1]), default=(0.0, 0, 0))
        if score >= threshold:
            spans.append((x, y))
            pos = y
        else:
            pos = max(pos + al.dest_end, pos + 1)
    return spans


# --------------------------------------------------------------------------- the dictionary

@dataclass(frozen=True, eq=False)
class Dictionary:
    """A codebook's patterns compiled for one language (see the module docstring)."""

    language: str
    fuzzy_threshold: float
    entries: tuple[Entry, ...]
    phrases: _PhraseSet | None
    lemmas: _PhraseSet | None
    regexes: tuple[tuple[int, Any], ...]  # regex-module patterns (qda.regexes: run with a time limit)
    fuzzy: _FuzzyIndex

    def __len__(self) -> int:
        return len(self.entries)


def lemmatise_phrase(phrase: str, language: str) -> list[str]:
    """Lower-cased lemmas of one phrase, as a lemma pattern's (``qda search --mode lemma``)."""
    return _lemmatise([phrase], language)[0]


def _lemmatise(values: list[str], language: str,
               known: MutableMapping[str, list[str]] | None = None) -> list[list[str]]:
    """Lower-cased lemmas of each phrase, lemmatised inside a carrier sentence.

    ``known`` holds phrases lemmatised earlier (phrase -> lemmas); the pipeline is
    loaded only for the others, which are added to it.
    """
    known = {} if known is None else known
    todo = [v for v in dict.fromkeys(values) if v not in known]
    if todo:
        base, fast = from_key(language)  # "fr:fast": documents imported with --fast (lookup lemmas)
        nlp = pipeline(base, fast)
        lemmas_from = language_support(base, fast).lemmas
        table = lemma_table(base) if lemmas_from == "lookup" else None
        before, after = CARRIERS.get(base, ("", ""))
        for value, doc in zip(todo, nlp.pipe(before + v + after for v in todo)):
            lo, hi = len(before), len(before) + len(value)
            lemmas = []
            for tok in doc:
                if tok.is_space or tok.idx + len(tok.text) <= lo or tok.idx >= hi:
                    continue
                if lemmas_from == "trained":
                    lemma = (tok.lemma_ or tok.text).lower()
                elif table is not None:  # as the documents' tokens were looked up at import
                    lemma = table(tok.text)
                else:
                    lemma = tok.text.lower()
                lemmas.append(_ELIDED.get(lemma, lemma))
            known[value] = [_lower_keep_length(x) for x in lemmas]
    return [list(known[v]) for v in values]


def patterns_for(codebook: Codebook, patterns: Sequence[Pattern], language: str) -> list[Pattern]:
    """The patterns of a code that apply to documents in ``language``: those without a
    language, those of ``language``, and, for a language the codebook does not declare
    (a Spanish interview in a [fr, en] codebook), those of its default language."""
    language = from_key(language)[0]
    wanted = language if language in codebook.languages or not codebook.languages else codebook.languages[0]
    return [p for p in patterns if not p.lang or p.lang == wanted]


def _lemma_pattern_values(codebook: Codebook, language: str) -> list[str]:
    return [_SPACES.sub(" ", unicodedata.normalize("NFC", p.value)).strip() for code in codebook.codes
            if code.codable for p in patterns_for(codebook, code.patterns, language)
            if p.kind == "lemma" and _norm_phrase(p.value)]


def lemmas_key(language: str) -> str:
    """The project meta key under which the lemmas of ``language``'s lemma patterns are kept."""
    return f"pattern_lemmas:{language}"


def pattern_lemmas(stored: str | None, language: str) -> dict[str, list[str]]:
    """The lemmas of lemma patterns the project already computed with the current pipeline.

    ``stored``: the project's meta value under :func:`lemmas_key`. Loading spaCy takes
    seconds while matching takes less: ``code auto`` lemmatises only patterns it has not
    seen, and the plan keeps what it computed (see :func:`pattern_lemmas_meta`).
    """
    import json

    kept = json.loads(stored or "{}")
    if kept.get("pipeline") != pipeline_version(*from_key(language)):
        return {}
    return dict(kept.get("lemmas", {}))


def pattern_lemmas_meta(codebook: Codebook | None, language: str,
                        known: dict[str, list[str]] | None = None) -> dict[str, str]:
    """The meta entry that keeps the lemmas of the codebook's lemma patterns.

    ``known``: as filled by :func:`compile_dictionary`; patterns missing from it are
    lemmatised now (call it when the pipeline is loaded anyway, e.g. right after an import).
    """
    import json

    lemmas = dict(known or {})
    values = _lemma_pattern_values(codebook, language) if codebook is not None else []
    if not values and not lemmas:
        return {}
    _lemmatise(values, language, lemmas)
    return {lemmas_key(language): json.dumps({"pipeline": pipeline_version(*from_key(language)), "lemmas": lemmas},
                                             ensure_ascii=False, sort_keys=True)}


def compile_dictionary(codebook: Codebook, language: str, *, fuzzy_threshold: float = DEFAULT_FUZZY_THRESHOLD,
                       known: MutableMapping[str, list[str]] | None = None) -> Dictionary:
    """Compile every pattern of ``codebook`` that applies to ``language``, once.

    ``known``: lemma patterns already lemmatised (see :func:`pattern_lemmas`); those
    lemmatised now are added to it.

    Raises :class:`CodebookError` listing every pattern that cannot be compiled.
    """
    problems: list[Problem] = []
    entries: list[Entry] = []
    phrase_ids: dict[str, list[int]] = {}
    lemma_todo: list[tuple[int, Pattern, str]] = []
    regexes: list[tuple[int, Any]] = []
    fuzzies: list[_Fuzzy] = []
    pending: list[tuple[str, Pattern]] = []
    for code in codebook.codes:
        if code.codable:
            pending += [(code.id, pattern) for pattern in patterns_for(codebook, code.patterns, language)]

    def where(code: str, pattern: Pattern) -> str:
        return f"code '{code}', {pattern.kind} pattern '{pattern.value}'"

    for code_id, pattern in pending:
        index = len(entries)
        value = pattern.value
        if pattern.kind not in KINDS:
            problems.append(Problem(where(code_id, pattern), f"unknown pattern kind '{pattern.kind}'",
                                    f"use one of {', '.join(KINDS)}"))
            continue
        if pattern.kind == "regex":
            try:
                regexes.append((index, compile_user(value)))
            except regex_error as exc:
                problems.append(Problem(where(code_id, pattern), f"invalid regular expression: {exc}"))
                continue
            entries.append(Entry(index, code_id, pattern, value))
            continue
        form = _norm_phrase(value)
        if not form:
            problems.append(Problem(where(code_id, pattern), "empty pattern"))
            continue
        threshold = pattern.threshold if pattern.threshold is not None else fuzzy_threshold
        if pattern.kind == "phrase":
            phrase_ids.setdefault(form, []).append(index)
            if len(form) >= FUZZY_PHRASE_MIN:
                fuzzies.append(_Fuzzy(index, form, float(threshold), True))
        elif pattern.kind == "fuzzy":
            fuzzies.append(_Fuzzy(index, form, float(threshold), False))
        else:
            lemma_todo.append((index, pattern, code_id))
        entries.append(Entry(index, code_id, pattern, form))

    lemma_ids: dict[str, list[int]] = {}
    if lemma_todo:
        lemmatised = _lemmatise([_SPACES.sub(" ", unicodedata.normalize("NFC", p.value)).strip()
                                 for _, p, _ in lemma_todo], language, known)
        for (index, pattern, code_id), lemmas in zip(lemma_todo, lemmatised):
            form = " ".join(lemmas)
            if not form.strip():
                problems.append(Problem(where(code_id, pattern), "the pattern has no word to lemmatise"))
                continue
            lemma_ids.setdefault(form, []).append(index)
            entries[index] = Entry(index, code_id, pattern, form)
    if problems:
        raise CodebookError(f"{len(problems)} pattern(s) of codebook '{codebook.name}' cannot be compiled",
                            problems)
    return Dictionary(language=language, fuzzy_threshold=float(fuzzy_threshold), entries=tuple(entries),
                      phrases=_PhraseSet(phrase_ids, tokens=False) if phrase_ids else None,
                      lemmas=_PhraseSet(lemma_ids, tokens=True) if lemma_ids else None,
                      regexes=tuple(regexes), fuzzy=_FuzzyIndex(fuzzies))


# --------------------------------------------------------------------------- negation

# Cue lists: the negative words of each language's reference grammar. French: Grevisse &
# Goosse, Le Bon usage (16th ed., §§1011-1024, "la négation"); English: Quirk et al., A
# Comprehensive Grammar of the English Language (1985, §§10.54-10.70); Spanish: RAE & ASALE,
# Nueva gramática de la lengua española (2009, ch. 48, "La negación"); Portuguese: Cunha &
# Cintra, Nova gramática do português contemporâneo (ch. 14, advérbios de negação, and the
# indefinite pronouns); Italian: Serianni, Grammatica italiana (UTET, ch. XII, "negazione");
# German: Duden Band 4, Die Grammatik (9th ed., "Negation", Negationswörter). Only words that
# negate on their own are listed; "not only"-type collocations are exceptions below.
_BOUNDARIES = frozenset({",", ";", ":", ".", "!", "?", "…", "...", "mais", "but", "however", "cependant"})
#: Adversative conjunctions that end a clause, per language ("ma" is Italian "but" and French "my").
_BOUNDARY_WORDS = {"es": frozenset({"pero", "sino"}), "pt": frozenset({"porém", "contudo"}),
                   "it": frozenset({"ma", "però", "tuttavia"}), "de": frozenset({"aber", "sondern", "jedoch"})}
_CUES = {
    "fr": frozenset({"pas", "jamais", "rien", "aucun", "aucune", "aucuns", "aucunes", "sans", "non", "ni",
                     "guère", "nullement"}),
    "en": frozenset({"not", "n't", "never", "no", "without", "none", "neither", "nor", "cannot",
                     "dont", "doesnt", "didnt", "cant", "couldnt", "wouldnt", "shouldnt", "isnt", "arent",
                     "wasnt", "werent", "havent", "hasnt", "hadnt", "wont", "aint"}),
    "es": frozenset({"no", "nunca", "jamás", "nada", "nadie", "ninguno", "ninguna", "ningún", "ningunos",
                     "ningunas", "ni", "sin", "tampoco"}),
    "pt": frozenset({"não", "nunca", "jamais", "nada", "ninguém", "nenhum", "nenhuma", "nenhuns", "nenhumas",
                     "nem", "sem", "tampouco"}),
    "it": frozenset({"non", "mai", "niente", "nulla", "nessuno", "nessuna", "nessun", "né", "senza", "neanche",
                     "nemmeno", "neppure"}),
    "de": frozenset({"nicht", "nie", "niemals", "kein", "keine", "keinen", "keinem", "keiner", "keines",
                     "nichts", "niemand", "ohne", "weder"}),
}
_NOT_NEGATING_NEXT = {
    "non": {"seulement", "solo", "soltanto"}, "pas": {"seulement", "mal", "que", "uniquement", "juste"},
    "sans": {"doute"}, "not": {"only", "just"}, "n't": {"only", "just"}, "no": {"doubt", "matter", "solo", "sólo"},
    "sin": {"duda"}, "não": {"só", "apenas", "somente"}, "sem": {"dúvida"}, "senza": {"dubbio"},
    "nicht": {"nur"}, "ohne": {"zweifel"},
}
#: German puts "nicht" after the object in a main clause ("wir nutzen LinkedIn nicht"): a
#: cue that ends the clause after the hit negates it too.
_CLAUSE_FINAL = {"de": frozenset({"nicht", "nie", "niemals"})}
_NE = frozenset({"ne", "n'"})
_SECOND = frozenset({"pas", "jamais", "plus", "aucun", "aucune", "rien", "guère", "point", "nullement"})
_CLITICS = frozenset({"le", "la", "les", "l'", "lui", "leur", "y", "en", "me", "m'", "te", "t'", "se", "s'",
                      "nous", "vous"})


def _cue(toks: Sequence[str], j: int, hi: int, words: frozenset[str]) -> bool:
    t = toks[j]
    if t not in words and not (words is _CUES["en"] and t.endswith("n't")):
        return False
    following = toks[j + 1] if j + 1 < hi else ""
    return following not in _NOT_NEGATING_NEXT.get(t, ())


def is_negated(toks: Sequence[str], first: int, lo: int, *, hi: int, language: str) -> bool:
    """Whether the hit starting at token ``first`` of the segment ``toks[lo:hi]`` is negated.

    ``toks`` are the document's tokens lower-cased with apostrophes unified (see the
    module docstring for the rule).
    """
    language = from_key(language)[0]
    cues = _CUES.get(language, frozenset())
    final = _CLAUSE_FINAL.get(language)
    boundary = _BOUNDARIES | _BOUNDARY_WORDS.get(language, frozenset())
    if final is not None and _negated_after(toks, first, hi, final, boundary):
        return True
    j = first - 1
    stop = max(lo, first - WINDOW)
    while j >= stop:
        t = toks[j]
        if t in boundary or (t == "contre" and j > lo and toks[j - 1] == "par"):
            return False
        if _cue(toks, j, hi, cues):
            return True
        if language == "fr" and t in _NE:
            if any(_cue(toks, k, hi, _SECOND) for k in range(j + 1, first)):
                return True
            verb = j + 1
            while verb < hi and toks[verb] in _CLITICS:
                verb += 1
            if verb + 1 < hi and _cue(toks, verb + 1, hi, _SECOND):
                return True
        j -= 1
    return False


def _negated_after(toks: Sequence[str], first: int, hi: int, final: frozenset[str], boundary: frozenset[str]) -> bool:
    """Whether a clause-final cue (German "nicht") follows the hit within its clause."""
    k = first
    while k < min(hi, first + WINDOW + 2):
        t = toks[k]
        if t in boundary:
            return False
        if t in final and (k + 1 >= hi or toks[k + 1] in boundary):
            return True
        k += 1
    return False


# --------------------------------------------------------------------------- matching

def _as_int_array(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def _lemma_string(lemmas: Sequence[str]) -> tuple[str, np.ndarray]:
    """Lemmas joined by spaces (apostrophes unified, elisions expanded) and token starts in it."""
    joined = " ".join(lemmas)
    for a in _APOSTROPHES:
        if a in joined:
            joined = joined.replace(a, "'")
    if "'" in joined:  # "d'" -> "de", "qu'" -> "que": same length, offsets stay valid
        joined = _ELISION_RE.sub(r"\1e", joined)
    sizes = np.fromiter(map(len, lemmas), dtype=np.int64, count=len(lemmas)) + 1
    offsets = np.zeros(len(lemmas), dtype=np.int64)
    if len(lemmas) > 1:
        np.cumsum(sizes[:-1], out=offsets[1:])
    return joined, offsets


def _unify_apostrophes(lower: Sequence[str]) -> Sequence[str]:
    """Tokens with apostrophes unified (they are lower-case already)."""
    joined = "\x1f".join(lower)
    if not any(a in joined for a in _APOSTROPHES):
        return lower
    for a in _APOSTROPHES:
        joined = joined.replace(a, "'")
    return joined.split("\x1f")


def find_hits(dictionary: Dictionary, docs: Iterable[DocTokens],
              segments: Mapping[str, Sequence[tuple[str, int, int]]], *, language: str,
              negation: NegationMode = NegationMode.SKIP, fuzzy: bool = True,
              progress: Progress = no_progress) -> list[Hit]:
    """Every pattern hit in the segments of ``docs``, sorted by document, offsets, code.

    ``segments`` maps a document name to its segments ``(ref, start, end)``; a hit is
    reported in the segment that contains it (hits outside any segment, or across two,
    are not reported). ``fuzzy=False`` limits the fuzzy pass to ``fuzzy`` patterns;
    ``True`` adds phrase patterns of 8+ characters.
    """
    if negation not in NEGATION_MODES:
        raise ValueError(f"negation must be one of {NegationMode.words()}, not {negation!r}")
    if language != dictionary.language:
        raise ValueError(f"the dictionary was compiled for '{dictionary.language}', not '{language}'")
    findex = dictionary.fuzzy
    active = np.asarray([fuzzy or not item.from_phrase for item in findex.items], dtype=bool)
    memo: dict[str, tuple[int, ...]] = {}
    hits: list[Hit] = []
    docs = list(docs)
    for done, doc in enumerate(docs):
        progress(f"auto-coding {len(docs)} transcript(s)", done, len(docs))
        segs = sorted(segments.get(doc.document, ()), key=lambda s: (s[1], s[2], s[0]))
        if not segs:
            continue
        hits.extend(_doc_hits(dictionary, doc, segs, language, negation, active, memo))
    progress(f"auto-coding {len(docs)} transcript(s)", len(docs), len(docs))
    hits.sort(key=lambda h: (h.document, h.start, h.end, h.code, h.pattern, h.kind))
    return hits


def _doc_hits(dictionary: Dictionary, doc: DocTokens, segs: list[tuple[str, int, int]], language: str,
              negation: str, active: np.ndarray, memo: dict[str, tuple[int, ...]]) -> list[Hit]:
    entries = dictionary.entries
    text = doc.text
    starts, ends = _as_int_array(doc.starts), _as_int_array(doc.ends)
    lower, lemma = doc.lower, doc.lemma
    if any(map(str.isspace, lower)):  # whitespace tokens (the importer leaves them out)
        keep = [k for k, w in enumerate(lower) if not w.isspace()]
        starts, ends = starts[keep], ends[keep]
        lower = tuple(lower[k] for k in keep)
        lemma = tuple(lemma[k] for k in keep)
    seg_starts = np.asarray([s[1] for s in segs], dtype=np.int64)
    seg_ends = np.asarray([s[2] for s in segs], dtype=np.int64)
    folded = _lower_keep_length(text)

    # exact passes: (start, end, entry index, kind)
    found: list[tuple[int, int, int, str]] = []
    if dictionary.phrases is not None:
        found.extend((p, q, pid, "phrase") for p, q, pid in dictionary.phrases.find(folded))
    if dictionary.lemmas is not None and len(lemma):
        joined, offsets = _lemma_string(lemma)
        matches = dictionary.lemmas.find(joined)
        if matches:
            ps = np.asarray([m[0] for m in matches], dtype=np.int64)
            qs = np.asarray([m[1] for m in matches], dtype=np.int64)
            first = np.searchsorted(offsets, ps, side="right") - 1
            last = np.searchsorted(offsets, qs - 1, side="right") - 1
            cs, ce = starts[first].tolist(), ends[last].tolist()
            found.extend((cs[k], ce[k], m[2], "lemma") for k, m in enumerate(matches))
    for index, rx in dictionary.regexes:
        what = f"the regex pattern '{rx.pattern}' of code '{dictionary.entries[index].code}'"
        try:
            found.extend((start, end, index, "regex") for start, end in next(regex_spans(rx, [text], what)))
        except RegexTimeout as exc:
            raise CodebookError(str(exc), [Problem(f"code '{dictionary.entries[index].code}'", "regex pattern "
                                                   "too slow", "write the pattern more simply")]) from None

    # attach to segments
    raw: list[tuple[int, int, int, str, int]] = []  # start, end, entry, kind, segment index
    if found:
        fs = np.asarray([f[0] for f in found], dtype=np.int64)
        fe = np.asarray([f[1] for f in found], dtype=np.int64)
        si = np.searchsorted(seg_starts, fs, side="right") - 1
        ok = (si >= 0) & (fe <= seg_ends[np.maximum(si, 0)])
        for k in np.nonzero(ok)[0].tolist():
            s, e, index, kind = found[k]
            raw.append((s, e, index, kind, int(si[k])))

    # fuzzy pass, per segment
    if len(findex_items := dictionary.fuzzy.items) and active.any():
        exact_by: dict[tuple[int, str], list[tuple[int, int]]] = {}
        for s, e, index, _kind, sidx in raw:
            exact_by.setdefault((sidx, entries[index].code), []).append((s, e))
        seg_texts = [folded[s:e] for _, s, e in segs]
        for k, rows in dictionary.fuzzy.candidates(seg_texts, memo, active):
            item = findex_items[k]
            code = entries[item.entry].code
            for sidx in rows:
                base = segs[sidx][1]
                exact = exact_by.get((sidx, code), ())
                for a, b in _fuzzy_in(seg_texts[sidx], item.needle, item.threshold):
                    a, b = a + base, b + base
                    # an exact hit of the code here wins, unless the fuzzy span strictly contains it
                    if any(a < e2 and s2 < b and not (a <= s2 and e2 <= b and (a, b) != (s2, e2))
                           for s2, e2 in exact):
                        continue
                    raw.append((a, b, item.entry, "fuzzy", sidx))

    # one hit per code and span: drop hits contained in a hit of the same code
    raw.sort(key=lambda h: (entries[h[2]].code, h[0], -h[1], h[2], h[3]))
    kept: list[tuple[int, int, int, str, int]] = []
    current_code, reach = None, -1
    for h in raw:
        code = entries[h[2]].code
        if code != current_code:
            current_code, reach = code, -1
        if h[1] <= reach:
            continue
        reach = h[1]
        kept.append(h)

    out: list[Hit] = []
    if not kept:
        return out
    if negation != "ignore":
        toks = _unify_apostrophes(lower)
        hs = np.asarray([h[0] for h in kept], dtype=np.int64)
        si = np.asarray([h[4] for h in kept], dtype=np.int64)
        firsts = np.searchsorted(ends, hs, side="right").tolist()
        los = np.searchsorted(starts, seg_starts[si], side="left").tolist()
        his = np.searchsorted(starts, seg_ends[si], side="left").tolist()
    for k, (s, e, index, kind, sidx) in enumerate(kept):
        negated = negation != "ignore" and is_negated(toks, firsts[k], los[k], hi=his[k], language=language)
        if negated and negation == "skip":
            continue
        entry = entries[index]
        out.append(Hit(entry.code, doc.document, segs[sidx][0], s, e, entry.pattern.value, kind, negated))
    return out


# --------------------------------------------------------------------------- planning a run

@dataclass(frozen=True)
class AutoCodeResult:
    """What dictionary auto-coding did."""

    coder: str
    codings: int
    flagged: int  # negated mentions kept with status "negated" (negation="flag")
    per_code: dict[str, int]
    negation: str
    patterns: tuple[str, ...]  # the patterns that fired

    def to_dict(self) -> dict[str, Any]:
        return json_dict({**self.__dict__, "patterns": list(self.patterns)})

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd
        return pd.DataFrame([{"code": k, "segments": v} for k, v in self.per_code.items()],
                            columns=["code", "segments"])

    def to_table(self) -> TableView:
        """What the coder got, then coded segments per code (the rows of to_frame, without pandas)."""
        flagged = f", {self.flagged} negated mentions flagged" if self.flagged else ""
        return TableView(None, (Column("code"), Column("segments")),
                         tuple(Row((k, v)) for k, v in self.per_code.items()),
                         lead=(Note(f"coder '{self.coder}': {self.codings} coded segments{flagged}"),))


def plan_auto_coding(codebook: Codebook, segments: Iterable[Segment | tuple[str, str, str, int, int]],
                     tokens: Iterable[Sequence[Any]], *, coder: str,
                     negation: NegationMode = NegationMode.SKIP, fuzzy: bool = True, fuzzy_threshold: float = 90.0,
                     known: dict[str, dict[str, list[str]]] | None = None,
                     progress: Progress = no_progress) -> tuple[WritePlan, AutoCodeResult]:
    """Plan a run of the codebook's patterns over every segment, as ``coder``.

    ``segments``: the segments to code (their text is not needed), as objects or as
    (ref, document, case, start, end) tuples (see ``Store.segment_places``);
    ``tokens``: (document, language, text, starts, ends, lower, lemma) as stored at import.
    Each hit codes its whole segment and records the pattern that fired; a segment gets
    each code once (a mention that is not negated wins over a negated one). The plan
    replaces all of the coder's codings. ``known``: per language, the lemma patterns
    lemmatised before (see :func:`pattern_lemmas`); the plan keeps them with any new ones.
    """
    known = {language: dict(lemmas) for language, lemmas in (known or {}).items()}
    if not 0 < fuzzy_threshold <= 100:
        raise AgreementError(f"--threshold must be between 0 and 100, not {fuzzy_threshold:g}")
    if negation not in NEGATION_MODES:
        raise AgreementError(f"--negation must be {NegationMode.words()}, not '{negation}'")
    places = list(segments)
    if places and isinstance(places[0], Segment):
        places = [(s.ref, s.document, s.case, s.start, s.end) for s in cast(list[Segment], places)]
    rows = cast(list[tuple[str, str, str, int, int]], places)
    by_doc: dict[str, list[tuple[str, int, int]]] = {}
    for document, same in groupby(rows, key=itemgetter(1)):
        by_doc.setdefault(document, []).extend((ref, start, end) for ref, _, _, start, end in same)
    by_ref = {row[0]: row for row in rows}
    docs: dict[str, list[DocTokens]] = {}
    for name, language, text, starts, ends, lower, lemma in tokens:
        docs.setdefault(language, []).append(DocTokens(
            name, text, array("i", starts), array("i", ends), tuple(lower), tuple(lemma)))  # type: ignore[arg-type]
    if not docs:
        raise NotFoundError("no tokenised transcript: import transcripts first")
    hits: list[Hit] = []
    try:
        for language, group in docs.items():
            dictionary = compile_dictionary(codebook, language, fuzzy_threshold=fuzzy_threshold,
                                            known=known.setdefault(language, {}))
            hits.extend(find_hits(dictionary, group, by_doc, language=language, negation=negation, fuzzy=fuzzy,
                                  progress=progress))
    except ValueError as exc:
        raise AgreementError(str(exc)) from None
    texts = {doc.document: doc.text for group in docs.values() for doc in group}
    planned: dict[tuple[str, str], Coding] = {}
    for hit in hits:
        key = (hit.segment_ref, hit.code)
        if key in planned and not (planned[key].status == CodingStatus.NEGATED and not hit.negated):
            continue
        ref, document, case, start, end = by_ref[hit.segment_ref]
        planned[key] = Coding(coder=coder, code=hit.code, document=document, case=case, start=start,
                              end=end, segment=ref, source="auto",
                              note=f"matched: {texts[hit.document][hit.start:hit.end]}",
                              pattern=f"{hit.kind}: {hit.pattern}",
                              status=CodingStatus.NEGATED if hit.negated else CodingStatus.OK)
    per_code = {code: 0 for code in codebook.code_ids()}
    for coding in planned.values():
        if coding.status == CodingStatus.OK:
            per_code[coding.code] += 1
    per_code = {code: n for code, n in per_code.items() if n}
    flagged = sum(1 for c in planned.values() if c.status == CodingStatus.NEGATED)
    meta = {key: value for language in docs  # only the languages matched: the others' lemmas are unknown
            for key, value in pattern_lemmas_meta(codebook, language, known[language]).items()}
    plan = WritePlan(coders=(coder,), replace=(CodingScope(coder),), codings=tuple(planned.values()), meta=meta)
    return plan, AutoCodeResult(coder, sum(per_code.values()), flagged, per_code, negation,
                                tuple(sorted({c.pattern or "" for c in planned.values()})))


# --------------------------------------------------------------------------- coding reviewed search hits

def plan_search_coding(codebook: Codebook, result: SearchResult, tokens: Sequence[DocumentTokens],
                       *, segments: Sequence[Segment], held: Sequence[Coding], code: str,
                       coder: str) -> tuple[WritePlan, SearchCoding]:
    """Plan one coding of ``code`` per segment holding a hit of a search (``qda search --code``).

    Hits that are negated mentions are left out by auto-coding's rule; segments the coder
    already coded with ``code`` are kept as they are. The pattern (``mode: query``) is
    recorded on each new coding.
    """
    from bisect import bisect_left

    from qda.analysis import SearchCoding, fold_apostrophes  # pandas: only when a search codes hits

    if code not in codebook.code_ids():
        raise NotFoundError(f"unknown code '{code}' (codes: {', '.join(codebook.code_ids())})")
    if not codebook.code(code).codable:
        raise NotFoundError(f"'{code}' is a folder code: code with one of its sub-codes")
    by_document = {d.document: d for d in tokens}
    folded = {name: [fold_apostrophes(w) for w in d.lower] for name, d in by_document.items()}
    by_ref = {s.ref: s for s in segments}
    already_coded = {c.segment for c in held if c.code == code}
    kept: dict[str, Segment] = {}
    negated: set[str] = set()
    for hit in result.hits:
        if hit.segment is None:
            continue
        seg, doc = by_ref[hit.segment], by_document[hit.document]
        lo, hi = bisect_left(doc.starts, seg.start), bisect_left(doc.starts, seg.end)
        if is_negated(folded[hit.document], bisect_left(doc.starts, hit.start), lo, hi=hi, language=doc.language):
            negated.add(seg.ref)
        else:
            kept[seg.ref] = seg
    pattern = f"{result.mode}: {result.query}"
    new = [s for ref, s in kept.items() if ref not in already_coded]
    plan = WritePlan(coders=(coder,), codings=tuple(
        Coding(coder, code, s.document, s.case, s.start, s.end, s.ref, source="search",
               note=f"search: {result.query}", pattern=pattern) for s in new))
    return plan, SearchCoding(result, code, coder, pattern, tuple(s.ref for s in new),
                              tuple(sorted(negated - set(kept))), tuple(r for r in kept if r in already_coded))
