"""Train, evaluate, run and explain the suggester on a project (the facade commits what it plans)."""

from __future__ import annotations

import statistics
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from qda.errors import NotFoundError, SuggestError
from qda.models import Codebook, Coding
from qda.results import Progress, no_progress
from qda.storage import ProjectReads, ProjectStorage
from qda.suggest.corpus import ENGLISH, Corpus, Labels, load_corpus, segment_labels
from qda.suggest.counts import SegmentCounts, segment_counts
from qda.suggest.hits import Run, Suggestions, machine_coder, model_info, pack_hits, unpack_hits
from qda.suggest.learn import (
    LENGTH_BINS,
    Features,
    Model,
    RoleIds,
    analyzer_of,
    check_params,
    counts_options,
    cross_validate,
    cut_of,
    english_terms_of,
    fit_codes,
    fit_in_scope,
    folds_of,
    gated,
    hashed_params,
    in_scope,
    kappa_threshold,
    loss_for,
    model_id,
    model_neighbours,
    neighbours_for,
)
from qda.suggest.metrics import Metric, binary_agreement
from qda.suggest.results import (
    CodeCurve,
    CodeEvaluation,
    CurvePoint,
    Explanation,
    LearningCurve,
    RunReport,
    Similar,
    TrainReport,
)

#: Positives per code at which ``qda suggest curve`` measures kappa.
CURVE_SIZES = (25, 50, 100, 200)


@dataclass(frozen=True)
class Training:
    """What :func:`train` made: the model to store and its report."""

    model: Model
    report: TrainReport
    info: dict[str, Any]
    # the model's suggestions of every segment (the score cache: code -> pack_hits), for the
    # segments' signature ``segments``: `suggest run` after `train` then computes no features
    scores: dict[str, bytes] = field(default_factory=dict)
    segments: str = ""


def _codes(codebook: Codebook, codes: Sequence[str] | None) -> list[str]:
    known = [c.id for c in codebook.codes if c.codable]
    if not codes:
        return known
    unknown = [c for c in codes if c not in codebook.code_ids()]
    if unknown:
        raise NotFoundError(f"unknown code(s) {', '.join(unknown)} (see qda codebook show)")
    return list(codes)


def _labelled(store: ProjectStorage, coder: str, codes: Sequence[str] | None,
              codebook: Codebook, settings: dict[str, Any]) -> tuple[Corpus, Labels, list[str]]:
    if coder not in store.coders():
        raise NotFoundError(f"unknown coder '{coder}' (coders: {', '.join(store.coders()) or 'none yet'})")
    if coder.startswith("model:"):
        raise SuggestError(f"'{coder}' is a machine coder: train from a human coder or the consensus")
    wanted = _codes(codebook, codes)
    corpus = corpus_of(store, english_terms=english_terms_of(settings))
    labels = segment_labels(store, corpus, coder, codes=wanted)
    if not labels.known.any():
        raise SuggestError(f"coder '{coder}' has no codings to learn from")
    return corpus, labels, wanted


def train(store: ProjectStorage, codebook: Codebook, coder: str, *, codes: Sequence[str] | None = None, seed: int = 1,
          params: dict[str, Any] | None = None, evaluate: bool = True, bootstrap: int = 1000,
          progress: Progress = no_progress) -> Training:
    """One classifier per code from ``coder``'s codings, evaluated by document-grouped cross-validation.

    The segments of the documents ``coder`` coded are the training data (a segment is
    positive for a code when one of the coder's codings applies to it); codes with fewer than
    ``min_positives`` positive segments are listed, not trained. Deterministic for a seed.
    """
    settings = check_params(params)
    corpus, labels, wanted = _labelled(store, coder, codes, codebook, settings)
    # the known segments, and the suggestions the coder rejected in review (negatives of their code only)
    known = np.flatnonzero(labels.known | labels.reviewed())
    all_groups = corpus.document[known]
    all_roles = roles_of(corpus)[known]
    vectors, all_x = features_of(corpus, known, settings)
    labels_of = {c: labels.positive.get(c, np.zeros(len(corpus), dtype=bool))[known] for c in wanted}
    groups = corpus.document[np.flatnonzero(labels.known)] if labels.known.any() else all_groups
    folds = min(int(settings["folds"]), len(np.unique(groups)))
    rows: list[CodeEvaluation | None] = []
    trained: list[tuple[str, np.ndarray, float, float, tuple[str, ...]] | None] = []
    # the codes whose threshold comes from inner folds (not evaluated, or too few documents to evaluate):
    # fitted together at the end (fit_codes scores every code's inner models in one pass over the matrix)
    later: list[tuple[int, int, str, str, int, np.ndarray | None, str]] = []
    classifiers: dict[str, str] = {}
    # per code: its rows of all_x (None: all), and how many nearest coded passages its score looks at
    code_rows: dict[str, tuple[np.ndarray | None, int]] = {}
    for done, code in enumerate(wanted):
        progress("training", done - len(later), len(wanted))  # the codes deferred to fit_codes count there
        use = labels.rows_for(code, known)
        whole = bool(use.all())  # no reviewed negatives outside the known segments
        y = labels_of[code] if whole else labels_of[code][use]
        positives = int(y.sum())
        label = codebook.code(code).label(codebook.default_language)
        if positives < int(settings["min_positives"]):
            rows.append(CodeEvaluation(code, label, positives, False,
                                       f"not trained: {positives} positives (needs {settings['min_positives']})"))
            continue
        if positives == len(y):
            rows.append(CodeEvaluation(code, label, positives, False, "not trained: every segment is positive"))
            continue
        # one classifier for the code's folds and its model (the folds' scores place the model's cut), chosen
        # on all its positives: with loss "auto", a fold holding fewer than svm_from would switch on its own
        # (and the same for the neighbour term: "neighbours_to" None keeps the choice made here)
        fitting = {**settings, "loss": loss_for(settings, positives),
                   "neighbours": neighbours_for(settings, positives, segments=all_x.shape[0]), "neighbours_to": None}
        classifiers[code] = str(fitting["loss"])
        code_rows[code] = (None if whole else np.flatnonzero(use), int(fitting["neighbours"]))
        cv = None
        if evaluate:  # on the code's rows (no copy of the matrix when they are all of it)
            x, code_groups, code_roles = (all_x, all_groups, all_roles) if whole else (
                all_x[use], all_groups[use], all_roles[use])
            cv = cross_validate(x, y, code_groups, params=fitting, seed=seed, roles=code_roles)
        if cv is not None:
            # the final model's threshold: from out-of-fold scores of the training data itself
            coef, intercept, _, excluded = fit_in_scope(x, y, code_groups, roles=code_roles,
                                                        params={**fitting, "inner_folds": 0}, seed=seed)
            threshold = cut_of(kappa_threshold(cv.scores, cv.truth), str(settings["threshold"]), positives,
                               prior=float(settings["threshold_prior"]))
            agreement = binary_agreement(cv.truth, cv.predicted, bootstrap=bootstrap, seed=seed)
            rows.append(CodeEvaluation(code, label, positives, True, "", threshold, agreement.kappa,
                                       agreement.precision, agreement.recall, agreement.f1, cv.thresholds))
            trained.append((code, coef, intercept, threshold, excluded))
        else:
            reason = "not evaluated" if not evaluate else "not evaluated: too few documents with this code to split"
            later.append((len(rows), len(trained), code, label, positives, None if whole else np.flatnonzero(use),
                          reason))
            rows.append(None)
            trained.append(None)
    if later:
        # the same models as fit_in_scope code by code on x, y, groups and roles cut to each code's rows
        fits = fit_codes(all_x, [labels_of[t[2]] for t in later], all_groups, roles=all_roles, params=settings,
                         seed=seed, rows=[t[5] for t in later],
                         progress=lambda n: progress("training", len(wanted) - len(later) + n, len(wanted)))
        for (row_at, trained_at, code, label, positives, _use, reason), fit in zip(later, fits):
            coef, intercept, threshold, excluded = fit
            rows[row_at] = CodeEvaluation(code, label, positives, True, reason, threshold)
            trained[trained_at] = (code, coef, intercept, threshold, excluded)
    progress("training", len(wanted), len(wanted))
    done_rows = [r for r in rows if r is not None]
    done_codes = [t for t in trained if t is not None]
    if not done_codes:
        raise SuggestError(f"no code has {settings['min_positives']} positive segments in {coder}'s codings: "
                           "nothing to train", [])
    pairs = [p for p in labels.pairs(corpus) if p[1] in set(wanted)]
    ident = model_id(pairs, [corpus.refs[i] for i in np.flatnonzero(labels.known).tolist()], coder, codes=wanted,
                     params=hashed_params(settings, corpus.languages), seed=seed)
    # the training rows each code's neighbour term compares with: its rows, without the roles it is kept off
    numbered = RoleIds.of(all_roles) if settings.get("role_gate") and any(code_rows[t[0]][1] for t in done_codes) \
        else None  # numbered once for every code (as fit_codes does), and only when a code has the term
    scoped = [in_scope(labels_of[t[0]], roles=numbered, params=settings, rows=code_rows[t[0]][0])[0]
              if code_rows[t[0]][1] else None for t in done_codes]
    reference, neighbours = model_neighbours(all_x, [labels_of[t[0]] for t in done_codes], rows=scoped,
                                             ks=[code_rows[t[0]][1] for t in done_codes], seed=seed)
    model = Model(ident, coder, vectors, [t[0] for t in done_codes], np.vstack([t[1] for t in done_codes]),
                  np.array([t[2] for t in done_codes]), np.array([t[3] for t in done_codes]), settings,
                  [t[4] for t in done_codes], reference, neighbours)
    report = TrainReport(ident, machine_coder(ident), coder, seed, len(np.unique(groups)), len(known), folds,
                         settings, tuple(done_rows))
    kept_off = {t[0]: list(t[4]) for t in done_codes}
    info = {"params": settings, "seed": seed, "documents": report.documents, "segments": report.segments,
            "codes": {r.code: {"positives": r.positives, "trained": r.trained, "threshold": r.threshold,
                               "kappa": r.kappa.to_dict() if r.kappa else None,
                               "kept_off_roles": kept_off.get(r.code, []),
                               "classifier": classifiers.get(r.code),
                               "neighbours": code_rows.get(r.code, (None, 0))[1]} for r in done_rows},
            "training_documents": sorted({corpus.documents[g] for g in np.unique(groups).tolist()})}
    signature = store.segments_signature()
    positions = np.arange(len(corpus))
    # every segment's scores; when every segment is in the training matrix (in corpus order), from it
    every = model_scores(model, corpus, positions, codes=model.codes, x=all_x if len(known) == len(corpus) else None)
    cache = {}
    for j, code in enumerate(model.codes):
        found = np.flatnonzero(every[:, j] >= model.threshold[j])
        cache[code] = pack_hits(positions[found], every[found, j], len(corpus))
    return Training(model, report, info, cache, signature)


def curve(store: ProjectStorage, codebook: Codebook, coder: str, *, codes: Sequence[str] | None = None, seed: int = 1,
          sizes: Sequence[int] = CURVE_SIZES, params: dict[str, Any] | None = None, bootstrap: int = 1000,
          progress: Progress = no_progress) -> LearningCurve:
    """Kappa per code when each fold's training part is cut to ``sizes`` positives (by whole documents)."""
    settings = check_params(params)
    corpus, labels, wanted = _labelled(store, coder, codes, codebook, settings)
    known = np.flatnonzero(labels.known)
    groups = corpus.document[known]
    roles = roles_of(corpus)[known]
    _vectors, x = features_of(corpus, known, settings)
    out: list[CodeCurve] = []
    for done, code in enumerate(wanted):
        progress("learning curve", done, len(wanted))
        y = labels.positive.get(code, np.zeros(len(corpus), dtype=bool))[known]
        points, whole = learning_points(x, y, groups, settings=settings, seed=seed, sizes=sizes, bootstrap=bootstrap,
                                        roles=roles)
        out.append(CodeCurve(code, int(y.sum()), points, whole))
    progress("learning curve", len(wanted), len(wanted))
    medians: dict[str, float | None] = {}
    for k, size in enumerate(sizes):
        medians[str(size)] = _median([c.points[k].kappa for c in out])
    medians["all"] = _median([c.all_data for c in out])
    return LearningCurve(coder, tuple(sizes), tuple(out), medians)


def features_of(corpus: Corpus, rows: np.ndarray, settings: dict[str, Any]) -> tuple[Features, sp.csr_matrix]:
    """The features fitted on the segments ``rows`` and their matrix: from the corpus' term
    counts (:mod:`qda.suggest.counts`, kept per process) when the analyzer is one that module
    builds, else by the analyzer on each feature text (the same matrix, slower)."""
    options = counts_options(analyzer_of(settings), bool(settings.get("chars")))
    if options is None:
        return Features.fit_transform([corpus.texts[i] for i in rows.tolist()], settings)
    return Features.fit_counts(counts_of(corpus, options), rows, settings)


def features_for(model: Model, corpus: Corpus, rows: np.ndarray | None = None) -> sp.csr_matrix:
    """A model's features of the segments ``rows`` (all when None), as :func:`features_of`."""
    options = model.vectors.options()
    few = rows is not None and len(rows) * 10 < len(corpus) and not _counts_kept(corpus, options)
    if options is None or few:  # a few segments (explain): their texts, not every segment's counts
        chosen = corpus.texts if rows is None else [corpus.texts[i] for i in np.asarray(rows).tolist()]
        return model.vectors.transform(chosen)
    return model.vectors.take(counts_of(corpus, options), rows)


def _counts_kept(corpus: Corpus, options: tuple[tuple[str, bool], ...] | None) -> bool:
    with _kept.lock:
        found = _kept.counts
    return found is not None and found[0] is corpus and found[1] == options


def _median(metrics: Sequence[Metric | None]) -> float | None:
    """The median value over codes (codes without a value left out)."""
    values = [m.value for m in metrics if m is not None and m.value is not None]
    return float(statistics.median(values)) if values else None


def roles_of(corpus: Corpus) -> np.ndarray:
    """Each segment's speaker role ("" for none), as the role gate reads it."""
    return np.array([r or "" for r in corpus.roles], dtype=str) if len(corpus) else np.zeros(0, dtype=str)


def training_subsets(y: np.ndarray, groups: np.ndarray, folds: Sequence[tuple[np.ndarray, np.ndarray]], *, size: int,
                     seed: int) -> dict[int, np.ndarray] | None:
    """Per fold, the training positions of the first documents (in a seeded random order) that
    together hold ``size`` positives; None when a fold's training part holds fewer."""
    subsets: dict[int, np.ndarray] = {}
    for k, (train, _test) in enumerate(folds):
        docs = np.unique(groups[train])
        order = np.random.default_rng(seed + 1000 * k).permutation(docs)
        per_doc = {int(d): int(v) for d, v in zip(*np.unique(groups[train][y[train]], return_counts=True))}
        total, chosen = 0, []
        for d in order.tolist():
            chosen.append(d)
            total += per_doc.get(d, 0)
            if total >= size:
                break
        if total < size:
            return None
        subsets[k] = train[np.isin(groups[train], chosen)]
    return subsets


def learning_points(x: sp.csr_matrix, y: np.ndarray, groups: np.ndarray, *, settings: dict[str, Any], seed: int,
                    sizes: Sequence[int], bootstrap: int,
                    roles: np.ndarray | None = None) -> tuple[tuple[CurvePoint, ...], Metric | None]:
    """Kappa at each size of the training part, and with all of it, on the same folds (``roles``:
    per row, for the role gate: see :func:`qda.suggest.learn.fit_in_scope`)."""
    y = y.astype(bool)
    folds = folds_of(y, groups, int(settings["folds"]), seed=seed)
    points = []
    for size in sizes:
        subsets = training_subsets(y, groups, folds, size=size, seed=seed) if folds else None
        cv = cross_validate(x, y, groups, params=settings, seed=seed,
                            train_subset=subsets, roles=roles) if subsets is not None else None
        points.append(CurvePoint(size, binary_agreement(cv.truth, cv.predicted, bootstrap=bootstrap, seed=seed).kappa
                                 if cv is not None else None))
    cv = cross_validate(x, y, groups, params=settings, seed=seed, roles=roles) if folds else None
    whole = binary_agreement(cv.truth, cv.predicted, bootstrap=bootstrap, seed=seed).kappa if cv is not None else None
    return tuple(points), whole


# ----------------------------------------------------------------------------- what a process keeps

class _Kept:
    """What this process read last, for the next command or request on the same project: the
    corpus (by project file, segments' signature and what English documents were read as:
    reading and cutting the terms of 136,000 segments costs 0.6 s), models (by id: a stored
    model never changes) and, per model and code, the tf-idf rows of the passages its training
    coder coded (by that coder's codings). Shared by the web server's threads, hence the lock; a few entries at most."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # (project file, segments' signature), what English documents were read as, the corpus
        self.corpus: tuple[tuple[str, str], str, Corpus] | None = None
        self.models: OrderedDict[tuple[str, str], Model] = OrderedDict()
        self.similar: OrderedDict[tuple[Any, ...], tuple[np.ndarray, sp.csr_matrix]] = OrderedDict()
        # the term counts of the kept corpus (the corpus object itself is the key), per settings
        self.counts: tuple[Corpus, tuple[tuple[str, bool], ...], SegmentCounts] | None = None

    @staticmethod
    def remember(kept: OrderedDict[Any, Any], key: Any, value: Any, size: int = 4) -> None:
        kept[key] = value
        kept.move_to_end(key)
        while len(kept) > size:
            kept.popitem(last=False)


_kept = _Kept()


def corpus_of(store: ProjectStorage, *, terms: bool = True, signature: str | None = None,
              english_terms: str) -> Corpus:
    """:func:`load_corpus` with an English document's terms as ``english_terms`` (a model's own:
    :attr:`Model.english_terms`), read again only when the project's segments changed, or their
    terms are asked for the first time or as the other choice in a project with English documents."""
    key = (str(store.path), signature or store.segments_signature())
    with _kept.lock:
        found = _kept.corpus
    if found is not None and found[0] == key:
        kept_terms, kept = found[1], found[2]
        same = kept_terms == english_terms or ENGLISH not in kept.languages  # the choice changed nothing there
        if not terms or not len(kept) or (kept.words and same):
            return kept
    corpus = load_corpus(store, terms, english_terms=english_terms)
    with _kept.lock:
        _kept.corpus = (key, english_terms, corpus)
    return corpus


def counts_of(corpus: Corpus, options: tuple[tuple[str, bool], ...]) -> SegmentCounts:
    """The term counts of every segment of ``corpus`` (see :mod:`qda.suggest.counts`), kept for
    the last corpus and settings: train and run, and the server's explain after explain, share them."""
    with _kept.lock:
        found = _kept.counts
    if found is not None and found[0] is corpus and found[1] == options:
        return found[2]
    settings = dict(options)
    counts = segment_counts(corpus.words, corpus.document, corpus.roles, options=settings,
                            chars=bool(settings.get("chars")), length_bins=LENGTH_BINS)
    with _kept.lock:
        _kept.counts = (corpus, options, counts)
    return counts


# ----------------------------------------------------------------------------- stored models

def load_model(store: ProjectStorage, ref: str | None) -> tuple[Model, dict[str, Any]]:
    """A stored model and its info (see :func:`model_info`)."""
    ident, _created, coder, info = model_info(store, ref)
    key = (str(store.path), ident)
    with _kept.lock:
        found = _kept.models.get(key)
    if found is None:
        data = store.suggest_model_bytes(ident)
        assert data is not None
        found = Model.from_bytes(ident, coder, data, params=info.get("params", {}))
        with _kept.lock:
            _kept.remember(_kept.models, key, found)
    return found, info


# ----------------------------------------------------------------------------- suggestions

def select_segments(corpus: Corpus, store: ProjectReads, model: Model, *, documents: Sequence[str] | None,
                    uncoded: bool) -> np.ndarray:
    """Positions of the segments to score: given documents, those the training coder did not code, or all."""
    if documents:
        unknown = sorted(set(documents) - set(corpus.documents))
        if unknown:
            raise NotFoundError(f"unknown document(s) {', '.join(unknown)}")
        wanted = [corpus.documents.index(d) for d in documents]
        return np.flatnonzero(np.isin(corpus.document, wanted))
    if uncoded:
        labels = segment_labels(store, corpus, model.coder, codes=[])
        return np.flatnonzero(~labels.known)
    return np.arange(len(corpus))


def plan_run(store: ProjectStorage, model: Model, *, codes: Sequence[str] | None = None,
             documents: Sequence[str] | None = None,
             uncoded: bool = False) -> Run:
    """Suggestions of ``model`` on the chosen segments, as codings of its machine coder (status
    suggested, with score and origin). The plan replaces only that machine coder's earlier
    suggestions of the codes run in those documents: no other coder's codings are touched.

    The scores of every segment come from the score cache when it holds them for the
    project's segments as they are (the features of 136,000 segments cost 3 s to compute)."""
    unknown = [c for c in codes or () if c not in model.codes]
    if unknown:
        raise SuggestError(f"the model has no classifier for {', '.join(unknown)} "
                           f"(trained: {', '.join(model.codes)})")
    wanted = list(codes) if codes else list(model.codes)
    signature = store.segments_signature()
    cached = store.suggest_scores(model.id, signature, wanted)
    corpus = corpus_of(store, terms=len(cached) < len(wanted), signature=signature, english_terms=model.english_terms)
    kept = {code: unpack_hits(blob, len(corpus)) for code, blob in cached.items()}
    if len(cached) < len(wanted) or any(v is None for v in kept.values()):
        # a cache that does not fit the corpus: computed again
        corpus = corpus_of(store, signature=signature, english_terms=model.english_terms)
    chosen = select_segments(corpus, store, model, documents=documents, uncoded=uncoded)
    fresh: dict[str, bytes] = {}
    hits: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if kept and all(v is not None for v in kept.values()) and len(kept) == len(wanted):
        every = len(chosen) == len(corpus)
        for code in wanted:
            at, values = kept[code] or (np.zeros(0, dtype=np.int64), np.zeros(0))
            inside = slice(None) if every else np.isin(at, chosen)
            hits[code] = (at[inside], values[inside])
    else:
        scores = model_scores(model, corpus, chosen, codes=wanted)
        for j, code in enumerate(wanted):
            found = np.flatnonzero(scores[:, j] >= float(model.threshold[model.codes.index(code)]))
            hits[code] = (chosen[found], scores[found, j])
        if len(chosen) == len(corpus):
            fresh = {code: pack_hits(*hits[code], len(corpus)) for code in wanted}
    coder = model.machine_coder
    run_codes = wanted
    # the chosen segments are whole documents (select_segments): the run replaces this coder's
    # suggestions of the codes run in those documents, read by code and document, never the others
    in_docs = np.unique(corpus.document[chosen])
    documents_run = None if len(in_docs) == len(corpus.documents) else tuple(corpus.documents[d] for d in in_docs)
    counts = {c: len(hits[c][0]) for c in run_codes}
    return Run(Suggestions(coder, model.id, documents_run, hits),
               RunReport(model.id, coder, len(in_docs), len(chosen), counts, 0), signature, fresh, corpus)


def model_scores(model: Model, corpus: Corpus, chosen: np.ndarray, *, codes: Sequence[str],
                 x: sp.csr_matrix | None = None) -> np.ndarray:
    """The model's scores of the corpus positions ``chosen`` (segments x ``codes``): the one place
    the suggester scores segments (run, the score cache, sample, validate). ``x``: their features,
    when the caller has them."""
    rows = [model.codes.index(c) for c in codes]
    if not len(chosen) or not rows:  # nothing to score (e.g. --uncoded when every document is coded)
        return np.zeros((len(chosen), len(rows)))
    if x is None:
        x = features_for(model, corpus, None if len(chosen) == len(corpus) else chosen)
    scores = model.scores_of_rows(x, rows)
    # the role gate, as Model.scores applies it: a code's kept-off roles' segments score 0
    if any(model.excluded[r] for r in rows if r < len(model.excluded)):
        roles = roles_of(corpus)[np.asarray(chosen)]
        for j, r in enumerate(rows):
            if r < len(model.excluded) and model.excluded[r]:
                scores[:, j] = gated(scores[:, j], roles, model.excluded[r])
    return scores


def explain(store: ProjectStorage, coding: Coding, *, top: int = 8, similar: int = 3) -> Explanation:
    """The terms that weighed most for a suggestion (coefficient x tf-idf) and the ``similar``
    passages closest to it (cosine on the same tf-idf) that the training coder coded with its code."""
    if not coding.origin:
        raise SuggestError(f"coding {coding.id} is not a machine suggestion (it has no model of origin)")
    model, _info = load_model(store, coding.origin)
    if coding.code not in model.codes:
        raise SuggestError(f"model {model.machine_coder} has no classifier for '{coding.code}'")
    signature = store.segments_signature()
    corpus = corpus_of(store, signature=signature, english_terms=model.english_terms)
    at = _position(corpus, coding.segment or "")
    if at is None:
        raise NotFoundError(f"segment '{coding.segment}' of coding {coding.id} is gone")
    row = model.codes.index(coding.code)
    x = features_for(model, corpus, np.array([at]))
    weights = x.multiply(model.coef[row]).tocsr()
    names = model.vectors.terms()
    order = np.argsort(-weights.data)[:top]
    terms = tuple((names[int(weights.indices[k])], float(weights.data[k])) for k in order.tolist()
                  if weights.data[k] > 0)
    positive, vectors = _coded_passages(store, corpus, signature, model, coding.code)
    others = positive != at
    positive = positive[others]
    near: tuple[Similar, ...] = ()
    if len(positive):
        sims = np.asarray((vectors[np.flatnonzero(others)] @ x.T).todense()).ravel()
        best = np.argsort(-sims, kind="stable")[:similar]
        chosen = [int(positive[k]) for k in best.tolist()]
        texts = {name: store.document(name) for name in {corpus.documents[int(corpus.document[i])] for i in chosen}}
        near = tuple(Similar(corpus.refs[i], _text(texts[corpus.documents[int(corpus.document[i])]])[
            int(corpus.starts[i]):int(corpus.ends[i])], float(sims[k])) for k, i in zip(best.tolist(), chosen))
    return Explanation(coding.id or 0, coding.code, model.id, coding.score, float(model.threshold[row]), terms, near,
                       model.passages_term(x, row))


def _text(document: Any) -> str:
    return str(document.text) if document is not None else ""


def _position(corpus: Corpus, ref: str) -> int | None:
    """A segment's corpus position from its ref (``document#ordinal``: the document's run of
    positions, then the ordinal in it), without a map of every ref."""
    name, _, _ordinal = ref.rpartition("#")
    try:
        d = corpus.documents.index(name)
    except ValueError:
        return None
    members = np.flatnonzero(corpus.document == d)
    found = [int(i) for i in members.tolist() if corpus.refs[i] == ref]
    return found[0] if found else None


def _coded_passages(store: ProjectStorage, corpus: Corpus, signature: str, model: Model,
                    code: str) -> tuple[np.ndarray, sp.csr_matrix]:
    """The positions of the segments the model's training coder coded with ``code``, and their
    tf-idf rows under the model, kept while that coder's codings and the segments stay the same."""
    key = (str(store.path), signature, model.id, code, store.coder_signature(model.coder))
    with _kept.lock:
        found = _kept.similar.get(key)
    if found is not None:
        return found
    labels = segment_labels(store, corpus, model.coder, codes=[code])
    positive = np.flatnonzero(labels.positive.get(code, np.zeros(len(corpus), dtype=bool)))
    found = (positive, features_for(model, corpus, positive))
    with _kept.lock:
        _kept.remember(_kept.similar, key, found, size=8)
    return found
