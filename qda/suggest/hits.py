"""The score cache and a run of the suggester that reads it (NumPy only: no scipy, no scikit-learn).

Training keeps each code's suggestions of every segment (:func:`pack_hits`); ``qda suggest
run`` on the segments as they were then stores them without computing a feature. This module
is all such a run imports of :mod:`qda.suggest`: ``scipy.sparse`` alone costs 0.13 s of CPU
to import, more than the rest of a run of one code (:func:`plan_cached_run`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from qda.errors import NotFoundError, SuggestError
from qda.storage import ProjectReads, ProjectStorage
from qda.suggest.results import RunReport


def machine_coder(model_id: str) -> str:
    """``model:`` and the first 6 hex digits of a model id."""
    return f"model:{model_id[:6]}"


def model_info(store: ProjectReads, ref: str | None) -> tuple[str, str, str, dict[str, Any]]:
    """(id, created_at, coder, info) of the model ``ref`` names (an id, its prefix, or its
    ``model:xxxxxx`` coder); the latest model when None."""
    models = store.suggest_models()
    if not models:
        raise NotFoundError("no suggestion model yet: run `qda suggest train --from CODER` first")
    if ref is None:
        found = [models[-1]]
    else:
        key = ref.removeprefix("model:")
        found = [m for m in models if m[0].startswith(key)]
    if not found:
        known = ", ".join(machine_coder(m[0]) for m in models)
        raise NotFoundError(f"unknown model '{ref}' (models: {known})")
    if len(found) > 1:
        raise SuggestError(f"'{ref}' names {len(found)} models: give more of the id")
    ident, created, coder, info = found[-1]
    return ident, created, coder, json.loads(info)


#: The score cache's format: a code's suggestions (score at or above its threshold) of every
#: segment, as the number of segments, then the suggested positions (int64) and their scores
#: (float64); a tenth of every segment's score, and all a run needs.
_HITS = b"qda-hits-1\x00"


def pack_hits(positions: np.ndarray, scores: np.ndarray, segments: int) -> bytes:
    """A code's suggestions of every segment, for the score cache (see :data:`_HITS`)."""
    return (_HITS + np.array([segments, len(positions)], dtype=np.int64).tobytes()
            + np.ascontiguousarray(positions, dtype=np.int64).tobytes()
            + np.ascontiguousarray(scores, dtype=np.float64).tobytes())


def unpack_hits(blob: bytes, segments: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(positions, scores) from :func:`pack_hits`; None when the blob is not of this format or
    was made for another number of segments."""
    if not blob.startswith(_HITS) or len(blob) < len(_HITS) + 16:
        return None
    total, count = np.frombuffer(blob, dtype=np.int64, count=2, offset=len(_HITS)).tolist()
    start = len(_HITS) + 16
    if total != segments or len(blob) != start + 16 * count:
        return None
    return (np.frombuffer(blob, dtype=np.int64, count=count, offset=start),
            np.frombuffer(blob, dtype=np.float64, count=count, offset=start + 8 * count))


class Located(Protocol):
    """Segments as arrays by position (a :class:`~qda.suggest.corpus.Corpus`, or the few a run suggests)."""

    @property
    def ids(self) -> np.ndarray: ...

    @property
    def starts(self) -> np.ndarray: ...

    @property
    def ends(self) -> np.ndarray: ...


@dataclass(frozen=True)
class Suggestions:
    """What a run stores: per code run, the positions (in ``Run.segments``) of the segments
    suggested and their scores, as codings of ``coder`` in ``documents`` (all when None).
    Arrays, not a ``Coding`` per suggestion: a run of every code on 136,000 segments suggests 500,000."""

    coder: str
    origin: str
    documents: tuple[str, ...] | None
    hits: dict[str, tuple[np.ndarray, np.ndarray]]

    def rows(self, corpus: Located) -> Iterator[tuple[str, list[tuple[int, int, int, float]]]]:
        """Per code, (segment id, start, end, score rounded to 6 places): one code's rows at a time."""
        for code, (at, scores) in self.hits.items():
            yield code, [(segment, start, end, round(score, 6)) for segment, start, end, score in zip(
                corpus.ids[at].tolist(), corpus.starts[at].tolist(), corpus.ends[at].tolist(), scores.tolist())]


@dataclass(frozen=True)
class Run:
    """What a plan of a run made: the suggestions to store, its report, the segments they are
    positions of (the corpus, or only the segments suggested), and the scores of every segment
    it computed (code -> :func:`pack_hits` bytes, empty when it used the cache or scored some
    documents only) for the facade to keep in the score cache under ``segments`` (the segments' signature)."""

    suggestions: Suggestions
    report: RunReport
    segments: str
    fresh: dict[str, bytes]
    corpus: Located

    def rows(self) -> Iterator[tuple[str, list[tuple[int, int, int, float]]]]:
        """:meth:`Suggestions.rows` of this run's segments."""
        return self.suggestions.rows(self.corpus)

    def segment_ids(self) -> Iterator[tuple[str, list[int]]]:
        """Per code, the ids of the segments suggested (what decides whether the run changes anything)."""
        for code, (at, _scores) in self.suggestions.hits.items():
            yield code, self.corpus.ids[at].tolist()


@dataclass(frozen=True)
class _Picked:
    """The segments a cached run suggests: id, start and end by position in the run's own list."""

    ids: np.ndarray
    starts: np.ndarray
    ends: np.ndarray


def plan_cached_run(store: ProjectStorage, ref: str | None, *, codes: Sequence[str] | None = None,
                    documents: Sequence[str] | None = None) -> Run | None:
    """The run :func:`qda.suggest.suggester.plan_run` plans, from the score cache alone: None when
    the cache does not hold every code asked for the segments as they are (or a code is not the
    model's, which ``plan_run`` reports). Reads the model's info, not the model; of the segments,
    each document's number of segments and the suggested segments' rows, not every segment's."""
    ident, _created, _coder, info = model_info(store, ref)
    trained = [code for code, about in info.get("codes", {}).items()
               if isinstance(about, dict) and about.get("trained")]
    wanted = list(codes) if codes else trained
    if not wanted or any(code not in trained for code in wanted):
        return None
    signature = store.segments_signature()
    cached = store.suggest_scores(ident, signature, wanted)
    if len(cached) < len(wanted):
        return None
    runs = store.segment_runs()
    names = [name for name, _n in runs]
    sizes = np.array([n for _name, n in runs], dtype=np.int64)
    total = int(sizes.sum())
    begins = np.cumsum(sizes) - sizes
    kept = {code: unpack_hits(cached[code], total) for code in wanted}
    if any(found is None for found in kept.values()):
        return None
    if documents:
        # as select_segments: a document without segments is not one the suggester knows
        unknown = sorted(set(documents) - set(names))
        if unknown:
            raise NotFoundError(f"unknown document(s) {', '.join(unknown)}")
        index = {name: k for k, name in enumerate(names)}
        in_docs = np.array(sorted({index[d] for d in documents}), dtype=np.int64)
    else:
        in_docs = np.arange(len(names))
    every = len(in_docs) == len(names)
    hits: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for code in wanted:
        at, values = kept[code] or (np.zeros(0, dtype=np.int64), np.zeros(0))
        if not every:
            inside = np.isin(np.searchsorted(begins, at, side="right") - 1, in_docs)
            at, values = at[inside], values[inside]
        hits[code] = (at, values)
    # the segments suggested, looked up once for every code run: positions into that list
    picked = _distinct(np.concatenate([at for at, _ in hits.values()]))
    rows = store.segments_at(picked.tolist())
    located = _Picked(*(np.asarray(rows[k], dtype=np.int64) for k in ("id", "start", "end")))
    hits = {code: (np.searchsorted(picked, at), values) for code, (at, values) in hits.items()}
    coder = machine_coder(ident)
    documents_run = None if every else tuple(names[d] for d in in_docs.tolist())
    report = RunReport(ident, coder, len(in_docs), int(sizes[in_docs].sum()), {c: len(hits[c][0]) for c in wanted}, 0)
    return Run(Suggestions(coder, ident, documents_run, hits), report, signature, {}, located)


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (as ``np.unique``, which imports ``numpy.ma`` on first use: 6 ms)."""
    ordered = np.sort(values)
    if not len(ordered):
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]
