"""The storage interface (qda/storage.py) is what Store implements and what SetScope serves.

mypy checks the structure where the facade receives a store (``Project(folder, Store.open(..))``
types ``Store`` against ``ProjectStorage``); this test checks the same at run time with the
parameters' names, kinds, defaults and annotations, so that an implementation (a second
backend) that drifts from the interface fails here with the member named.
"""

from __future__ import annotations

import inspect
from contextlib import AbstractContextManager
from pathlib import Path

from qda.ingest.sets import SetScope
from qda.storage import ProjectBackups, ProjectReads, ProjectStorage
from qda.store import Backups, Store

#: Reads SetScope refuses (NotImplementedError) rather than answer for the whole project;
#: a new read in ProjectReads needs a decision: filter it in SetScope, list it in UNSCOPED, or here.
REFUSED_BY_SETS = {
    "document_languages", "document_analyses", "document_id", "document_versions", "segment_bounds",
    "segment_spans", "segment_places", "segment_index", "holding_segments", "document_index",
    "codes_in_use", "coding", "count_codings", "codings_per_coder", "codings_per_status",
}


def members(protocol: type) -> dict[str, object]:
    """The protocol's own members (methods, properties, annotated attributes), by name."""
    found: dict[str, object] = {}
    for klass in reversed(protocol.__mro__):
        if klass is object or not getattr(klass, "_is_protocol", False):
            continue
        found.update({name: value for name, value in vars(klass).items() if not name.startswith("_")})
        found.update({name: "attribute" for name in getattr(klass, "__annotations__", {})})
    return found


def _parameters(function: object) -> list[tuple[str, object, object, object]]:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default, p.annotation) for p in signature.parameters.values()]


def drift(protocol: type, implementation: type, only: set[str] | None = None) -> list[str]:
    """What ``implementation`` lacks or declares differently from ``protocol``."""
    problems = []
    for name, member in sorted(members(protocol).items()):
        if only is not None and name not in only:
            continue
        if member == "attribute":
            continue  # instance attributes: checked on an opened store below
        mine = inspect.getattr_static(implementation, name, None)
        if mine is None:
            problems.append(f"{name}: missing")
        elif isinstance(member, property):
            if not isinstance(mine, property):
                problems.append(f"{name}: should be a property")
        elif not callable(mine):
            problems.append(f"{name}: not a method")
        elif _parameters(mine) != _parameters(member):
            problems.append(f"{name}: parameters {_parameters(mine)} != {_parameters(member)}")
    return problems


def test_store_implements_the_interface() -> None:
    assert len(members(ProjectStorage)) > 60  # reads, writes, accounts, lifecycle
    assert {"codings", "transaction", "backups", "replace_codings", "path"} <= set(members(ProjectStorage))
    assert drift(ProjectStorage, Store) == []
    assert drift(ProjectBackups, Backups) == []


def test_an_opened_store_has_the_attributes(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "p")
    try:
        for name, member in members(ProjectStorage).items():
            if member == "attribute":
                assert hasattr(store, name), name
        assert hasattr(store.backups, "unsnapshotted_ok")
        assert isinstance(store.transaction(), AbstractContextManager)
        assert isinstance(store.backups.recorded("x"), AbstractContextManager)
    finally:
        store.close()


def test_the_checker_finds_a_drifting_backend() -> None:
    class Partial:
        def codings(self, coder: str | None = None) -> list[object]:  # fewer parameters
            return []

        def transaction(self, marks_state: bool = True) -> None:
            return None

    problems = drift(ProjectStorage, Partial)
    assert "documents: missing" in problems
    assert "backups: missing" in problems
    assert any(p.startswith("codings: parameters") for p in problems)
    assert not any(p.startswith("transaction") for p in problems)


def test_set_scope_serves_the_reads_it_filters_with_their_signatures() -> None:
    reads = set(members(ProjectReads))
    own = {name for name in vars(SetScope) if not name.startswith("_") and callable(vars(SetScope)[name])}
    filtered = own & reads
    assert {"codings", "segments", "memos", "documents", "cases", "tokens"} <= filtered
    assert drift(ProjectReads, SetScope, only=filtered) == []
    # every read is decided: filtered, answered by the whole store, or refused
    assert reads - filtered - SetScope.UNSCOPED - REFUSED_BY_SETS == set()
    assert SetScope.UNSCOPED <= set(members(ProjectStorage))  # no name that means nothing


def test_set_scope_refuses_an_unfiltered_read(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "p")
    try:
        scope = SetScope(store, [])
        for name in sorted(REFUSED_BY_SETS):
            try:
                getattr(scope, name)
            except NotImplementedError as exc:
                assert name in str(exc)
            else:
                raise AssertionError(f"SetScope answers {name} for the whole project")
        assert scope.coders() == []  # an unscoped read goes through
    finally:
        store.close()
