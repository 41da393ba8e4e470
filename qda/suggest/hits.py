"""The score cache and a run of the suggester that reads it (no NumPy, SciPy or scikit-learn imported).

Training keeps each code's suggestions of every segment (:func:`pack_hits`); ``qda suggest
run`` on the segments as they were then stores them without computing a feature. This module
is all such a run imports of :mod:`qda.suggest`, and it reads the cache with the standard
library: importing ``scipy.sparse`` costs 0.13 s of CPU, NumPy 0.05 s, more than the rest of a
run of one code (:func:`plan_cached_run`). The functions that make or take arrays import NumPy
when called.
"""

from __future__ import annotations

import bisect
import json
import operator
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from qda.errors import NotFoundError, SuggestError
from qda.models import counting_statuses
from qda.storage import ProjectReads, ProjectStorage
from qda.suggest.results import RunReport

if TYPE_CHECKING:
    import numpy as np


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
#: segment, as the number of segments, then the suggested positions (int64, ascending) and their
#: scores (float64), in the machine's byte order; a tenth of every segment's score, and all a run needs.
_HITS = b"qda-hits-1\x00"


def pack_hits(positions: np.ndarray, scores: np.ndarray, segments: int) -> bytes:
    """A code's suggestions of every segment, for the score cache (see :data:`_HITS`)."""
    import numpy as np

    order = np.argsort(positions, kind="stable")  # ascending already when made from flatnonzero
    return (_HITS + np.array([segments, len(positions)], dtype=np.int64).tobytes()
            + np.ascontiguousarray(np.asarray(positions)[order], dtype=np.int64).tobytes()
            + np.ascontiguousarray(np.asarray(scores)[order], dtype=np.float64).tobytes())


def read_hits(blob: bytes, segments: int) -> tuple[memoryview[int], memoryview[float]] | None:
    """(positions, scores) of :func:`pack_hits` as views of ``blob`` (int64, float64), without
    NumPy; None when the blob is not of this format or was made for another number of segments."""
    if not blob.startswith(_HITS) or len(blob) < len(_HITS) + 16:
        return None
    total, count = struct.unpack_from("=qq", blob, len(_HITS))
    start = len(_HITS) + 16
    if total != segments or len(blob) != start + 16 * count:
        return None
    view = memoryview(blob)
    return view[start:start + 8 * count].cast("q"), view[start + 8 * count:].cast("d")


def unpack_hits(blob: bytes, segments: int) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`read_hits` as NumPy arrays."""
    import numpy as np

    found = read_hits(blob, segments)
    if found is None:
        return None
    positions, scores = found
    return np.frombuffer(positions, dtype=np.int64), np.frombuffer(scores.cast("B"), dtype=np.float64)


class Located(Protocol):
    """Segments as arrays by position (a :class:`~qda.suggest.corpus.Corpus`)."""

    @property
    def ids(self) -> np.ndarray: ...

    @property
    def starts(self) -> np.ndarray: ...

    @property
    def ends(self) -> np.ndarray: ...


@dataclass(frozen=True)
class Suggestions:
    """What a run stores: per code run, the corpus positions of the segments suggested and their
    scores, as codings of ``coder`` in ``documents`` (all when None). Arrays, not a ``Coding`` per
    suggestion: a run of every code on 136,000 segments suggests 500,000."""

    coder: str
    origin: str
    documents: tuple[str, ...] | None
    hits: dict[str, tuple[np.ndarray, np.ndarray]]

    def rows(self, corpus: Located) -> Iterator[tuple[str, list[tuple[int, int, int, float]]]]:
        """Per code, (segment id, start, end, score rounded to 6 places): one code's rows at a time."""
        for code, (at, scores) in self.hits.items():
            yield code, [(segment, start, end, round(score, 6)) for segment, start, end, score in zip(
                corpus.ids[at].tolist(), corpus.starts[at].tolist(), corpus.ends[at].tolist(), scores.tolist())]


class PlannedRun(Protocol):
    """What the facade stores of a planned run (:class:`Run`, or :class:`CachedRun` from the cache)."""

    @property
    def coder(self) -> str: ...

    @property
    def origin(self) -> str: ...

    @property
    def documents(self) -> tuple[str, ...] | None: ...

    @property
    def report(self) -> RunReport: ...

    @property
    def segments(self) -> str: ...

    @property
    def fresh(self) -> dict[str, bytes]: ...

    def rows(self) -> Iterator[tuple[str, list[tuple[int, int, int, float]]]]: ...

    def segment_ids(self) -> Iterator[tuple[str, list[int]]]: ...


@dataclass(frozen=True)
class Run:
    """What :func:`qda.suggest.suggester.plan_run` made: the suggestions to store, its report, the
    corpus they are positions of, and the scores of every segment it computed (code ->
    :func:`pack_hits` bytes, empty when it used the cache or scored some documents only) for the
    facade to keep in the score cache under ``segments`` (the segments' signature)."""

    suggestions: Suggestions
    report: RunReport
    segments: str
    fresh: dict[str, bytes]
    corpus: Located

    @property
    def coder(self) -> str:
        return self.suggestions.coder

    @property
    def origin(self) -> str:
        return self.suggestions.origin

    @property
    def documents(self) -> tuple[str, ...] | None:
        return self.suggestions.documents

    def rows(self) -> Iterator[tuple[str, list[tuple[int, int, int, float]]]]:
        """:meth:`Suggestions.rows` of this run's corpus."""
        return self.suggestions.rows(self.corpus)

    def segment_ids(self) -> Iterator[tuple[str, list[int]]]:
        """Per code, the ids of the segments suggested (what decides whether the run changes anything)."""
        for code, (at, _scores) in self.suggestions.hits.items():
            yield code, self.corpus.ids[at].tolist()


@dataclass(frozen=True)
class CachedRun:
    """A run planned from the score cache: per code, indices into ``ids``/``starts``/``ends``
    (the segments suggested by any code run) and their scores, as plain Python sequences."""

    coder: str
    origin: str
    documents: tuple[str, ...] | None
    report: RunReport
    segments: str
    hits: dict[str, tuple[list[int], Sequence[float]]]
    ids: list[int]
    starts: list[int]
    ends: list[int]
    fresh: dict[str, bytes] = field(default_factory=dict)

    def rows(self) -> Iterator[tuple[str, list[tuple[int, int, int, float]]]]:
        """Per code, (segment id, start, end, score rounded to 6 places), as :meth:`Suggestions.rows`."""
        ids, starts, ends = self.ids, self.starts, self.ends
        for code, (at, scores) in self.hits.items():
            yield code, [(ids[i], starts[i], ends[i], round(score, 6)) for i, score in zip(at, scores)]

    def segment_ids(self) -> Iterator[tuple[str, list[int]]]:
        """Per code, the ids of the segments suggested."""
        for code, (at, _scores) in self.hits.items():
            yield code, [self.ids[i] for i in at]


def plan_cached_run(store: ProjectStorage, ref: str | None, *, codes: Sequence[str] | None = None,
                    documents: Sequence[str] | None = None, uncoded: bool = False) -> CachedRun | None:
    """The run :func:`qda.suggest.suggester.plan_run` plans, from the score cache alone: None when
    the cache does not hold every code asked for the segments as they are (or a code is not the
    model's, which ``plan_run`` reports). Reads the model's info, not the model; of the segments,
    each document's number of segments and the suggested segments' rows, not every segment's
    (``uncoded``: and which documents the training coder coded)."""
    ident, _created, trainer, info = model_info(store, ref)
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
    begins = [0]
    for _name, n in runs:
        begins.append(begins[-1] + n)  # where each document's positions begin, then the end
    kept = {code: read_hits(cached[code], begins[-1]) for code in wanted}
    if any(found is None for found in kept.values()):
        return None
    if documents:
        # as select_segments: a document without segments is not one the suggester knows
        unknown = sorted(set(documents) - set(names))
        if unknown:
            raise NotFoundError(f"unknown document(s) {', '.join(unknown)}")
        index = {name: k for k, name in enumerate(names)}
        in_docs = sorted({index[d] for d in documents})
    elif uncoded:
        # as select_segments: the documents in which the training coder has no coding that counts
        coded = set(store.coding_columns(trainer, counting_statuses(coder_named=True))["document"])
        in_docs = [k for k, name in enumerate(names) if name not in coded]
    else:
        in_docs = list(range(len(names)))
    every = len(in_docs) == len(names)
    hits: dict[str, tuple[Sequence[int], Sequence[float]]] = {}
    for code in wanted:
        found = kept[code]
        assert found is not None
        at, values = found
        if every:
            hits[code] = (at, values)
            continue
        if not all(map(operator.lt, at, at[1:])):  # positions ascend in every cache qda writes
            return None
        # each chosen document's run of positions is a slice of the ascending positions
        parts = [(bisect.bisect_left(at, begins[d]), bisect.bisect_left(at, begins[d + 1])) for d in in_docs]
        hits[code] = ([p for a, b in parts for p in at[a:b]], [v for a, b in parts for v in values[a:b]])
    # the segments suggested, looked up once for every code run: positions into that list
    picked = sorted(set().union(*(at for at, _ in hits.values())))
    rows = store.segments_at(picked)
    where = {position: k for k, position in enumerate(picked)}
    coder = machine_coder(ident)
    documents_run = None if every else tuple(names[d] for d in in_docs)
    report = RunReport(ident, coder, len(in_docs), sum(begins[d + 1] - begins[d] for d in in_docs),
                       {c: len(hits[c][0]) for c in wanted}, 0)
    return CachedRun(coder, ident, documents_run, report, signature,
                     {code: ([where[p] for p in at], values) for code, (at, values) in hits.items()},
                     rows["id"], rows["start"], rows["end"])
