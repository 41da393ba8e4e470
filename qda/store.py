"""The project database (SQLite). The only module that touches sqlite3.

One file per project, WAL journal, foreign keys on. The schema carries a version and
is brought up to date by one migration per version. Every write goes through
:meth:`Store.transaction`, so a failing command leaves the project as it was.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
import os
import re
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime, timezone
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any, cast

from qda.errors import BusyError, NeedsConfirmation, Problem, ProjectError
from qda.models import (
    Account,
    AttributeDef,
    Case,
    Category,
    Code,
    Codebook,
    Coding,
    CodingScope,
    CodingStatus,
    Document,
    DocumentSet,
    DocumentWrite,
    Memo,
    Pattern,
    Segment,
    SuggestReview,
    Tokens,
    Variable,
    segment_ref,
)
from qda.storage import BackupFile, HistoryEntry

DB_NAME = "project.qda"
ENV_VAR = "QDA_PROJECT"  # the project folder when neither --project nor the working folder says

MIGRATIONS: list[str] = [
    # version 1: the foundation
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE cases (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
    );
    CREATE TABLE case_attributes (
        case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        position INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (case_id, name)
    );
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        case_id INTEGER NOT NULL REFERENCES cases(id),
        text TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        language TEXT NOT NULL DEFAULT 'fr',
        imported_at TEXT NOT NULL
    );
    CREATE TABLE speakers (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT
    );
    CREATE TABLE segments (
        id INTEGER PRIMARY KEY,
        document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        turn INTEGER NOT NULL,
        speaker_id INTEGER REFERENCES speakers(id),
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL,
        timestamp TEXT,
        UNIQUE (document_id, ordinal)
    );
    CREATE TABLE codebook (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        languages TEXT NOT NULL,
        attributes TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        loaded_at TEXT NOT NULL
    );
    CREATE TABLE categories (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        parent TEXT,
        labels TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        position INTEGER NOT NULL
    );
    CREATE TABLE codes (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        category TEXT,
        parent TEXT,
        labels TEXT NOT NULL,
        definition TEXT NOT NULL DEFAULT '',
        include TEXT NOT NULL DEFAULT '',
        exclude TEXT NOT NULL DEFAULT '',
        attributes TEXT NOT NULL DEFAULT '{}',
        patterns TEXT NOT NULL DEFAULT '[]',
        color TEXT,
        guid TEXT,
        codable INTEGER NOT NULL DEFAULT 1,
        position INTEGER NOT NULL
    );
    CREATE TABLE coders (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE TABLE codings (
        id INTEGER PRIMARY KEY,
        coder_id INTEGER NOT NULL REFERENCES coders(id),
        code_id INTEGER NOT NULL REFERENCES codes(id),
        document_id INTEGER NOT NULL REFERENCES documents(id),
        segment_id INTEGER REFERENCES segments(id),
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT 'sheet',
        note TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX codings_by_code_doc ON codings(code_id, document_id);
    CREATE INDEX codings_by_coder ON codings(coder_id);
    CREATE INDEX segments_by_doc ON segments(document_id, ordinal);
    """,
    # version 2: tokens and lemmas kept for auto-coding, old texts of revised transcripts,
    # which pattern fired for an auto coding, and flags on codings (orphaned after a revision)
    """
    CREATE TABLE tokens (
        document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
        starts BLOB NOT NULL,
        ends BLOB NOT NULL,
        lower TEXT NOT NULL,
        lemma TEXT NOT NULL
    );
    CREATE TABLE document_versions (
        id INTEGER PRIMARY KEY,
        document TEXT NOT NULL,
        text TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        replaced_at TEXT NOT NULL
    );
    ALTER TABLE codings ADD COLUMN pattern TEXT;
    ALTER TABLE codings ADD COLUMN status TEXT NOT NULL DEFAULT 'ok';
    """,
    # REFI-QDA interchange: memos (notes), and the declared types of case attributes (variables)
    """
    CREATE TABLE notes (
        id INTEGER PRIMARY KEY,
        guid TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL,
        author TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL DEFAULT '',
        target_kind TEXT NOT NULL DEFAULT 'project',
        target TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE variables (
        name TEXT PRIMARY KEY,
        type TEXT NOT NULL DEFAULT 'Text',
        description TEXT NOT NULL DEFAULT ''
    );
    """,
    # Replacing a coder's codings on some segments or documents (re-importing a sheet)
    # finds them by index instead of scanning all of the coder's codings per row.
    """
    CREATE INDEX codings_by_coder_segment ON codings(coder_id, segment_id);
    CREATE INDEX codings_by_coder_document ON codings(coder_id, document_id);
    """,
    # history of the writes that replace or delete codings, each with the snapshot
    # (a file in backups/) taken just before it, for `qda history` and `qda undo`
    """
    CREATE TABLE history (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        command TEXT NOT NULL,
        snapshot TEXT NOT NULL DEFAULT '',
        before TEXT NOT NULL DEFAULT '{}',
        after TEXT NOT NULL DEFAULT '{}',
        undone INTEGER NOT NULL DEFAULT 0,
        began TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL DEFAULT ''
    );
    """,
    # accounts of the browser workspace (qda serve on a non-local address): scrypt hashes only
    """
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        password TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
    # each document's language says how it was chosen (given with --lang, detected, or the
    # project's when detection was unsure), and which pipeline segmented and lemmatised it
    # (languages.version: "fr fast: ..." for --fast): auto-coding lemmatises its patterns alike
    """
    ALTER TABLE documents ADD COLUMN language_source TEXT NOT NULL DEFAULT '';
    ALTER TABLE documents ADD COLUMN analysis TEXT NOT NULL DEFAULT '';
    """,
    # every memo a GUID of its own: memos written in the workspace had none (an empty
    # NoteRef in .qdpx exports), and a memo whose GUID repeats an earlier one's gets a new
    # random (version 4) UUID, so that exports never give two Notes the same GUID
    """
    UPDATE notes SET guid = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
        || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1)
        || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))
    WHERE trim(guid) = '' OR id NOT IN (SELECT MIN(id) FROM notes GROUP BY lower(trim(guid, ' {}')));
    """,
    # named sets of documents (REFI-QDA Sets: MAXQDA's document sets, ATLAS.ti's document groups)
    """
    CREATE TABLE IF NOT EXISTS document_sets (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL DEFAULT '',
        guid TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE IF NOT EXISTS document_set_members (
        set_id INTEGER NOT NULL REFERENCES document_sets(id) ON DELETE CASCADE,
        document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        PRIMARY KEY (set_id, document_id)
    );
    """,
    # history lines that group a user's edits in the browser workspace (`session`: who,
    # `tally`: what they did, as JSON); `history.state` of new rows is the state token its
    # write left (a table of its own: the migration can run again, as the others can)
    """
    CREATE TABLE IF NOT EXISTS history_sessions (
        history_id INTEGER PRIMARY KEY REFERENCES history(id) ON DELETE CASCADE,
        session TEXT NOT NULL,
        tally TEXT NOT NULL DEFAULT '{}'
    );
    """,
    # roles, disabling and login throttling of workspace accounts, and server-side sessions
    # that logout, a password reset and 'qda users remove|disable' revoke (issue 20). Accounts
    # made before roles existed are coders: the lead gives one the lead role (qda users role).
    # A session is kept as the SHA-256 of its id: reading the database gives no usable cookie.
    """
    ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'coder';
    ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN locked_until TEXT NOT NULL DEFAULT '';
    CREATE TABLE IF NOT EXISTS sessions (
        digest TEXT PRIMARY KEY,
        user TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
    # a coding keeps the name of the quotation it came from and who last changed it, when
    # (REFI-QDA PlainTextSelection name, modifyingUser, modifiedDateTime), so that they go
    # back out in exports instead of being lost in a round trip
    """
    ALTER TABLE codings ADD COLUMN name TEXT NOT NULL DEFAULT '';
    ALTER TABLE codings ADD COLUMN modified_by TEXT NOT NULL DEFAULT '';
    ALTER TABLE codings ADD COLUMN modified_at TEXT NOT NULL DEFAULT '';
    """,
    # code suggestions (qda suggest): trained models (scikit-learn objects pickled by qda itself,
    # only ever loaded from this table), the blind validation samples drawn for them, and per
    # coding the suggestion's score and the model it came from (kept when a reviewer accepts it)
    """
    CREATE TABLE IF NOT EXISTS suggest_models (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        coder TEXT NOT NULL,
        info TEXT NOT NULL DEFAULT '{}',
        model BLOB NOT NULL
    );
    CREATE TABLE IF NOT EXISTS suggest_samples (
        id INTEGER PRIMARY KEY,
        model TEXT NOT NULL,
        coder TEXT NOT NULL,
        created_at TEXT NOT NULL,
        segments TEXT NOT NULL DEFAULT '[]'
    );
    ALTER TABLE codings ADD COLUMN score REAL;
    ALTER TABLE codings ADD COLUMN origin TEXT;
    """,
    # the review queue of suggestions (qda/web/review.py): one row per reviewer decision on a
    # model's suggestion of a code on a segment. A rejection (or a recode to another code) is
    # the reviewer's "not this code here", which the next training reads as a negative.
    """
    CREATE TABLE IF NOT EXISTS suggest_reviews (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        reviewer TEXT NOT NULL,
        model TEXT NOT NULL,
        code TEXT NOT NULL,
        document TEXT NOT NULL,
        segment TEXT NOT NULL,
        action TEXT NOT NULL,
        coded TEXT,
        coding INTEGER,
        score REAL,
        undone INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX IF NOT EXISTS suggest_reviews_by_reviewer ON suggest_reviews(reviewer, model, code);
    """,
    # a memo keeps who last changed it and when (REFI-QDA Note modifyingUser, modifiedDateTime),
    # as codings do: set by an edit in the workspace, read from and written back to REFI-QDA files
    """
    ALTER TABLE notes ADD COLUMN modified_by TEXT NOT NULL DEFAULT '';
    ALTER TABLE notes ADD COLUMN modified_at TEXT NOT NULL DEFAULT '';
    """,
    # a cache, not project data: a model's scores of every segment, per code (float64 in the
    # order of segment_columns), valid while the segments' signature is the same, so that
    # `qda suggest run --code X` does not compute the features of every segment again
    """
    CREATE TABLE IF NOT EXISTS suggest_scores (
        model TEXT NOT NULL,
        code TEXT NOT NULL,
        segments TEXT NOT NULL,
        scores BLOB NOT NULL,
        PRIMARY KEY (model, code)
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
_ADD_COLUMN = re.compile(r"\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(\w+)", re.IGNORECASE)


_SQLITE_HEADER = b"SQLite format 3\x00"
BACKUP_DIR = "backups"
# PRAGMA quick_check runs on every open up to this size: measured 0.34 s on a 50 MB
# database (1 M codings) on this 2-core machine, so about 0.1 s at the cap; bigger
# projects are checked by `qda check` (full integrity_check: 6.6 s at 50 MB).
QUICK_CHECK_MAX_BYTES = 16 * 1024 ** 2
# Seconds a writer waits for another qda command ($QDA_LOCK_TIMEOUT). The longest writes
# hold the lock for their commit only: 17 s for a 1 M-row coding sheet on a busy 2-core
# machine (bench/concurrent_writers.py), so 3 minutes leaves room for slower disks and bigger
# projects; a command refused after that has waited long enough to be told.
DEFAULT_LOCK_TIMEOUT = 180.0
DEFAULT_BACKUP_KEEP = 20
# meta key of the token every changing transaction writes (Store.transaction)
STATE_TOKEN = "state_token"
# Page edits of one user are one history line (one snapshot) until the user has been idle
# this long, or until another command wrote in between (see Backups.page_edit).
PAGE_SESSION_IDLE_MINUTES = 30
DEFAULT_BACKUP_MAX_MB = 1024


def lock_timeout() -> float:
    """Seconds a writer waits for the lock held by another qda command."""
    try:
        return max(0.0, float(os.environ.get("QDA_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT)))
    except ValueError:
        return DEFAULT_LOCK_TIMEOUT


def backups_hint(folder: Path) -> str:
    """Where a researcher's earlier states are, for messages about a damaged project."""
    snapshots = sorted((folder / BACKUP_DIR).glob("*.qda"))
    if snapshots:
        return (f"{len(snapshots)} snapshot(s) in {folder / BACKUP_DIR}: 'qda backup list' shows them and "
                f"'qda backup restore {snapshots[-1].name}' brings back the latest")
    return f"no snapshot in {folder / BACKUP_DIR}: restore the folder from your own backup"


class _Connection(sqlite3.Connection):
    """A connection whose OS-level failures become errors a researcher can act on.

    SQLite reports a full disk, a read-only file and a lock held by another process as
    ``OperationalError``; here they become :class:`ProjectError` with what to do. After
    a full disk SQLite has already rolled the transaction back, so a second ROLLBACK
    is skipped instead of hiding the real error behind "no transaction is active".
    """

    qda_path: Path = Path(DB_NAME)

    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        if sql == "ROLLBACK" and not self.in_transaction:
            return self.cursor()
        try:
            return super().execute(sql, parameters)
        except sqlite3.OperationalError as exc:
            raise _named(exc, self.qda_path) from None

    def executemany(self, sql: str, parameters: Any) -> sqlite3.Cursor:
        try:
            return super().executemany(sql, parameters)
        except sqlite3.OperationalError as exc:
            raise _named(exc, self.qda_path) from None


def _named(exc: sqlite3.OperationalError, path: Path) -> Exception:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return BusyError(f"another qda command is writing this project; try again "
                         f"(the project was busy: waited up to {lock_timeout():g} s for {path}; "
                         "QDA_LOCK_TIMEOUT=<seconds> changes the wait)")
    if "disk is full" in text or "database or disk is full" in text:
        return ProjectError(f"{path}: the disk is full; the command was undone and the project is as it was",
                            [Problem(str(path.parent), "no space left for the project database",
                                     "free some disk space and run the command again")])
    if "readonly" in text or "read-only" in text:
        return ProjectError(f"{path}: the project is read-only (its file or folder cannot be written)",
                            [Problem(str(path.parent), "reading commands work; this one writes",
                                     "copy the project folder somewhere writable, or ask for write access")])
    if "disk i/o error" in text:
        return ProjectError(f"{path}: disk I/O error; the command was undone",
                            [Problem(str(path), "the disk or network drive failed during the write",
                                     "check the drive, then run 'qda check'")])
    return exc


NOT_SQLITE = "not an SQLite database (its first bytes are wrong)"
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(db_path: Path) -> threading.Lock:
    """The lock the connections of this process take before writing to ``db_path``."""
    key = os.path.realpath(db_path)
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.Lock())


def _header_error(db_path: Path, what: str) -> ProjectError:
    """A project file that is empty or not SQLite: damaged, never a new project.

    The live database's header is checked through SQLite (which reports a foreign file as
    "file is not a database"), never by opening the file: POSIX drops all of a process's
    locks on a file when any of its descriptors of that file is closed. When ``qda serve``
    opened a second connection that way, its first connection lost the lock that marks the
    WAL as in use; the next ``qda`` command to close the project then checkpointed and
    deleted the WAL under the server, whose later codings went to a deleted file (lost, or
    "disk I/O error" and a damaged database; bench/serve.py found it with 6 coders at once).
    """
    return ProjectError(f"{db_path}: the project database is damaged or empty: {what}",
                        [Problem(str(db_path), "the file was cut, overwritten or replaced",
                                 backups_hint(db_path.parent))])


def _words(joined: str | bytes) -> list[str]:
    """Stored words joined by U+001F: TEXT before, BLOB of UTF-8 since (see Store._save_tokens)."""
    if isinstance(joined, bytes):
        joined = joined.decode("utf-8")
    return joined.split("\x1f") if joined else []


def _writable(db_path: Path) -> bool:
    return os.access(db_path, os.W_OK) and os.access(db_path.parent, os.W_OK)


def _where(equal: dict[str, Any], in_column: str | None = None,
           in_values: Sequence[Any] | None = None) -> tuple[str, list[Any]]:
    """`` WHERE ...`` for the filters that are given: ``column = value`` for each value not
    None, and ``in_column IN (...)`` when ``in_values`` is given; with its arguments."""
    conditions = [f"{column}=?" for column, value in equal.items() if value is not None]
    args = [value for value in equal.values() if value is not None]
    if in_column is not None and in_values is not None:
        conditions.append(f"{in_column} IN ({', '.join('?' * len(in_values))})")
        args.extend(in_values)
    return (" WHERE " + " AND ".join(conditions) if conditions else ""), args


def now() -> str:
    """UTC timestamp in ISO 8601, second precision."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


_CODING_FIELDS = tuple(f.name for f in fields(Coding))
_SEGMENT_FIELDS = tuple(f.name for f in fields(Segment))


def codings_from_fields(rows: Iterable[Sequence[Any]]) -> list[Coding]:
    """Codings from rows holding every field of :class:`Coding` in its order.

    A frozen dataclass's ``__init__`` sets its 20 fields one by one through
    ``object.__setattr__``: half the cost of reading 60,000 codings. Filling the instance
    dict at once gives equal objects (Coding has no ``__post_init__``; a test keeps it so).
    """
    return _frozen_from_fields(Coding, _CODING_FIELDS, rows)


def segments_from_fields(rows: Iterable[Sequence[Any]]) -> list[Segment]:
    """Segments from rows holding every field of :class:`Segment` in its order (as
    :func:`codings_from_fields`: 136,000 segments are read for words, search, reports)."""
    return _frozen_from_fields(Segment, _SEGMENT_FIELDS, rows)


def _frozen_from_fields(cls: type[Any], names: tuple[str, ...], rows: Iterable[Sequence[Any]]) -> list[Any]:
    new = object.__new__
    made = []
    for row in rows:
        item = new(cls)
        item.__dict__.update(zip(names, row))
        made.append(item)
    return made


class Store:
    """Access to one project database."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.db = connection
        self.path = path
        self._depth = 0
        # segment_index() as last read, with the data_version it was read at, while held
        self._held_index: tuple[int, dict[str, tuple[int, int, int, int, str]]] | None = None
        self._held_layout: tuple[int, list[tuple[int, str, int, int, int]]] | None = None
        self._holding = False
        self.write_token = ""  # the state token the current transaction leaves if it changes a row

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def create(cls, folder: Path) -> Store:
        """Create the database of a new project in ``folder``."""
        db_path = folder / DB_NAME
        if db_path.exists():
            raise ProjectError(f"{folder}: already a qda project ({DB_NAME} exists)")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            store = cls(cls._connect(db_path), db_path)
        except (OSError, sqlite3.Error) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else exc
            raise ProjectError(f"{folder}: cannot create a project there ({reason})",
                               [Problem("", "choose a folder you can write to, e.g. in your home folder")]) from None
        store.migrate()
        return store

    readonly = False

    @classmethod
    def open(cls, folder: Path, readonly: bool | None = None) -> Store:
        """Open an existing project, migrating an older schema forward.

        The file is checked first: an empty or foreign file, or (for files up to
        :data:`QUICK_CHECK_MAX_BYTES`) one that fails ``PRAGMA quick_check``, is an error
        that says the database is damaged and where the backups are. A project whose
        file or folder cannot be written opens read-only (``readonly=None``: detect).
        """
        db_path = folder / DB_NAME
        if not db_path.exists():
            raise ProjectError(f"{folder}: not a qda project (no {DB_NAME})", )
        if db_path.is_dir() or not db_path.is_file():
            raise ProjectError(f"{db_path}: not a project database (a folder or a device)")
        # Not check_header(): reading the file ourselves and closing it would drop every SQLite
        # lock this process holds on it (POSIX), see _header_error.
        if db_path.stat().st_size == 0:
            raise _header_error(db_path, "empty (0 bytes)")
        cls._refuse_foreign(db_path, folder)
        readonly = not _writable(db_path) if readonly is None else readonly
        store = cls(cls._connect(db_path, readonly), db_path)
        store.readonly = readonly
        try:
            version = store.schema_version()
            if version == 0 and store._one("SELECT COUNT(*) FROM sqlite_master"):
                raise ProjectError(f"{db_path}: an SQLite database, but not a qda project (no schema version)",
                                   [Problem(str(db_path), "another program's database is in the project folder",
                                            backups_hint(folder))])
            if version > SCHEMA_VERSION:
                raise ProjectError(f"{db_path}: written by a newer qda (schema {version}, "
                                   f"this qda knows {SCHEMA_VERSION})",)
            if db_path.stat().st_size <= QUICK_CHECK_MAX_BYTES:
                problems = store.integrity_problems()
                if problems:
                    raise store.damaged(problems)
            if version < SCHEMA_VERSION:
                if readonly:
                    raise ProjectError(f"{db_path}: the project needs an upgrade by this qda (schema {version} "
                                       f"to {SCHEMA_VERSION}) but is read-only",
                                       [Problem(str(folder), "open it once where it can be written")])
                store.migrate()
        except BaseException:
            store.close()
            raise
        return store

    @staticmethod
    def _refuse_foreign(db_path: Path, folder: Path) -> None:
        """Refuse another program's SQLite file before anything writes to it.

        Opening for writing switches a database to WAL; that must not happen to a file qda
        did not create, so it is looked at through a read-only connection first.
        """
        try:
            peek = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
        except sqlite3.Error:
            return  # the ordinary open names the problem
        try:
            tables = {row[0] for row in peek.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.Error:
            return
        finally:
            peek.close()
        if tables and "meta" not in tables:
            raise ProjectError(f"{db_path}: an SQLite database, but not a qda project (no schema version)",
                               [Problem(str(db_path), "another program's database is in the project folder",
                                        backups_hint(folder))])

    @classmethod
    def open_read_only(cls, folder: Path) -> Store:
        """Open a project without any write, not even a migration (shell completion, doctor)."""
        db_path = folder / DB_NAME
        if not db_path.exists():
            raise ProjectError(f"{folder}: not a qda project (no {DB_NAME})")
        try:
            if os.access(db_path, os.W_OK) and os.access(folder, os.W_OK):
                # A mode=ro connection that is the last to close leaves project.qda-wal/-shm
                # behind (it may not checkpoint); a query_only one writes nothing either, and
                # SQLite removes both files when it closes.
                db = sqlite3.connect(db_path, isolation_level=None)
                db.execute("PRAGMA query_only=ON")
            else:
                db = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        except sqlite3.DatabaseError as exc:
            raise ProjectError(f"{db_path}: cannot open the project database: {exc}") from None
        return cls(db, db_path)

    @staticmethod
    def check_header(db_path: Path) -> None:
        """Refuse an empty or non-SQLite file, naming it damaged (never a new project).

        Only for files no connection of this process has open (snapshots in backups/):
        closing a file descriptor of a database releases every POSIX lock the process holds
        on it, SQLite's included (see :func:`_header_error`).
        """
        try:
            with open(db_path, "rb") as handle:
                head = handle.read(len(_SQLITE_HEADER))
        except OSError as exc:
            raise ProjectError(f"{db_path}: cannot be read ({exc.strerror})") from None
        if head == _SQLITE_HEADER:
            return
        raise _header_error(db_path, "empty (0 bytes)" if not head else NOT_SQLITE)

    def integrity_problems(self, full: bool = False) -> list[str]:
        """What ``PRAGMA quick_check`` (``integrity_check`` if ``full``) and the foreign keys report."""
        pragma = "integrity_check" if full else "quick_check"
        try:
            found = [str(row[0]) for row in self.db.execute(f"PRAGMA {pragma}")]
            problems = [] if found == ["ok"] else found
            problems += [f"{table} row {rowid}: refers to a missing row of {parent}"
                         for table, rowid, parent, _ in self.db.execute("PRAGMA foreign_key_check")]
        except sqlite3.DatabaseError as exc:
            return [str(exc)]
        return problems

    def damaged(self, problems: list[str]) -> ProjectError:
        """The error for a database that fails its checks."""
        shown = problems[:5] + ([f"... and {len(problems) - 5} more"] if len(problems) > 5 else [])
        return ProjectError(f"{self.path}: the project database is damaged ({len(problems)} problem(s) found)",
                            [Problem(str(self.path), p) for p in shown]
                            + [Problem(str(self.path), "restore a snapshot", backups_hint(self.path.parent))])

    @staticmethod
    def _connect(db_path: Path, readonly: bool = False) -> sqlite3.Connection:
        timeout = lock_timeout()
        try:
            if readonly:
                # mode=ro still needs the -shm file of a WAL database; on a read-only
                # mount it cannot be created, and immutable=1 (nothing changes it) reads it.
                uri = db_path.resolve().as_uri()
                try:
                    db = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, timeout=timeout,
                                         factory=_Connection)
                    db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                except sqlite3.OperationalError:
                    db = sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None,
                                         timeout=timeout, factory=_Connection)
            else:
                db = sqlite3.connect(db_path, isolation_level=None, timeout=timeout, factory=_Connection)
            assert isinstance(db, _Connection)
            db.qda_path = db_path
            if not readonly:
                db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            if "file is not a database" in str(exc):
                raise _header_error(db_path, NOT_SQLITE) from None
            raise ProjectError(f"{db_path}: cannot open the project database: {exc}",
                               [Problem(str(db_path), "the database may be damaged",
                                        backups_hint(db_path.parent))]) from None
        return db

    @property
    def backups(self) -> Backups:
        """Snapshots and the history of writes (see :class:`Backups`)."""
        found = self.__dict__.get("_backups")
        if found is None:
            found = self.__dict__["_backups"] = Backups(self)
        return found

    def state_signature(self) -> tuple[Any, ...]:
        """A cheap fingerprint of the codings, documents and codes: equal before and after a
        write that was rolled back, different after one that changed them."""
        return tuple(self.db.execute(
            'SELECT (SELECT COUNT(*) || \':\' || IFNULL(MAX(id), 0) || \':\' || IFNULL(SUM(id), 0) || \':\' '
            '|| IFNULL(SUM(start * 7 + "end"), 0) || \':\' || IFNULL(SUM(LENGTH(status)), 0) FROM codings), '
            "(SELECT IFNULL(group_concat(sha256), '') FROM documents), "
            "(SELECT COUNT(*) || ':' || IFNULL(MAX(id), 0) FROM codes), "
            # last, so that states recorded before it was added compare on their prefix
            "(SELECT COUNT(*) || ':' || IFNULL(SUM(start * 3 + \"end\" + ordinal), 0) FROM segments), "
            # a rejected suggestion writes no coding, only its review row
            "(SELECT COUNT(*) || ':' || IFNULL(SUM(undone), 0) FROM suggest_reviews)"
            ).fetchone())

    def delete_coder(self, coder: str) -> int:
        """Remove a coder and all their codings; returns how many codings there were."""
        coder_id = self._one("SELECT id FROM coders WHERE name=?", (coder,))
        if coder_id is None:
            return 0
        deleted = self.db.execute("DELETE FROM codings WHERE coder_id=?", (coder_id,)).rowcount
        self.db.execute("DELETE FROM coders WHERE id=?", (coder_id,))
        return int(deleted)

    def close(self) -> None:
        self.db.close()

    def schema_version(self) -> int:
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.OperationalError:
            return 0
        except sqlite3.DatabaseError as exc:
            raise ProjectError(f"{self.path}: not a qda database ({exc})") from None
        return int(row[0]) if row else 0

    def migrate(self) -> None:
        """Apply every migration above the current version, each in its own transaction."""
        current = self.schema_version()
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with self.transaction(marks_state=False):  # an upgrade is not a write to undo or warn about
                for statement in MIGRATIONS[version - 1].split(";"):
                    if statement.strip() and not self._column_already_added(statement):
                        self.db.execute(statement)
                self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)", (str(version),))

    def _column_already_added(self, statement: str) -> bool:
        """True for an ``ALTER TABLE t ADD COLUMN c`` whose column is there: SQLite has no
        ``IF NOT EXISTS`` for columns, and a database whose version was set back (a restored
        older copy, migrations merged in another order) must still open."""
        found = _ADD_COLUMN.match(statement)
        if found is None:
            return False
        columns = {str(row[1]) for row in self.db.execute(f"PRAGMA table_info({found.group(1)})")}
        return found.group(2) in columns

    @contextmanager
    def transaction(self, marks_state: bool = True) -> Iterator[None]:
        """One atomic write; nested uses join the outer transaction.

        A transaction that changes a row leaves a new state token (``meta``), which tells
        ``qda undo`` that something was written after a recorded write. ``marks_state=False``
        for writes that are not project data and that undo leaves alone (the history, the
        snapshot policy, accounts and their sessions), and for a restore, which brings back
        a snapshot's own token.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        # Writers of this process queue on a Python lock first: SQLite's busy handler polls
        # with sleeps of up to 100 ms and no order, so with 6 coders posting at once one
        # request could wait half a second while others went ahead (bench/serve.py).
        local = _write_lock(self.path)
        if not local.acquire(timeout=lock_timeout()):
            raise _named(sqlite3.OperationalError("database is locked"), self.path)
        try:
            self.db.execute("BEGIN IMMEDIATE")  # a lock held too long is a BusyError (see _named)
            self._depth = 1
            self.write_token = uuid.uuid4().hex
            changes = self.db.total_changes
            try:
                yield
                if marks_state and self.db.total_changes != changes:
                    # every write that changed a row leaves a new token: the history compares it
                    # to tell whether anything was written after a recorded write (see Backups)
                    self.set_meta(STATE_TOKEN, self.write_token)
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            else:
                self.db.execute("COMMIT")
            finally:
                self._depth = 0
        finally:
            local.release()

    def _one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        row = self.db.execute(sql, args).fetchone()
        return row[0] if row else None

    def _insert(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run one INSERT and return the new row's id."""
        row_id = self.db.execute(sql, args).lastrowid
        assert row_id is not None  # sqlite3 sets it after every INSERT into a rowid table
        return row_id

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str) -> str | None:
        value = self._one("SELECT value FROM meta WHERE key=?", (key,))
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # ------------------------------------------------------------------ cases
    def ensure_case(self, name: str) -> int:
        found = self._one("SELECT id FROM cases WHERE name=?", (name,))
        if found is not None:
            return int(found)
        return self._insert("INSERT INTO cases(name) VALUES (?)", (name,))

    def set_case_attributes(self, name: str, attributes: dict[str, str]) -> None:
        case_id = self.ensure_case(name)
        self.db.execute("DELETE FROM case_attributes WHERE case_id=?", (case_id,))
        self.db.executemany(
            "INSERT INTO case_attributes(case_id, name, value, position) VALUES (?, ?, ?, ?)",
            [(case_id, k, v, i) for i, (k, v) in enumerate(attributes.items())])

    def save_cases(self, cases: Sequence[Case]) -> None:
        """Create cases as needed and replace their attributes with the given ones."""
        for case in cases:
            self.set_case_attributes(case.name, case.attributes)

    def set_document_case(self, name: str, case: str) -> None:
        self.db.execute("UPDATE documents SET case_id=? WHERE name=?", (self.ensure_case(case), name))

    def drop_empty_cases(self) -> None:
        """Forget cases left with no document and no attribute (e.g. after a document changed case)."""
        self.db.execute("DELETE FROM cases WHERE id NOT IN (SELECT case_id FROM documents) "
                        "AND id NOT IN (SELECT case_id FROM case_attributes)")

    def cases(self) -> list[Case]:
        attrs: dict[int, dict[str, str]] = {}
        for case_id, name, value in self.db.execute(
                "SELECT case_id, name, value FROM case_attributes ORDER BY case_id, position"):
            attrs.setdefault(case_id, {})[name] = value
        return [Case(name, attrs.get(cid, {})) for cid, name in
                self.db.execute("SELECT id, name FROM cases ORDER BY name")]

    # ------------------------------------------------------------------ documents
    def document(self, name: str) -> Document | None:
        row = self.db.execute(
            "SELECT d.name, c.name, d.text, d.sha256, d.source, d.language FROM documents d "
            "JOIN cases c ON c.id = d.case_id WHERE d.name=?", (name,)).fetchone()
        return Document(*row) if row else None

    def documents(self) -> list[Document]:
        return [Document(*row) for row in self.db.execute(
            "SELECT d.name, c.name, d.text, d.sha256, d.source, d.language FROM documents d "
            "JOIN cases c ON c.id = d.case_id ORDER BY d.name")]

    def document_languages(self) -> dict[str, int]:
        """How many documents are in each language."""
        return dict(self.db.execute("SELECT language, COUNT(*) FROM documents GROUP BY language ORDER BY language"))

    def document_cases(self) -> list[tuple[str, str]]:
        """Every document's (name, case), without its text."""
        return [(str(name), str(case)) for name, case in self.db.execute(
            "SELECT d.name, c.name FROM documents d JOIN cases c ON c.id = d.case_id ORDER BY d.name")]

    def document_analyses(self) -> dict[str, tuple[str, str]]:
        """Each document's (language_source, analysis): how its language was chosen and
        which pipeline analysed it ('' for documents imported before qda recorded them)."""
        return {name: (source, analysis) for name, source, analysis in
                self.db.execute("SELECT name, language_source, analysis FROM documents ORDER BY name")}

    def document_id(self, name: str) -> int | None:
        found = self._one("SELECT id FROM documents WHERE name=?", (name,))
        return None if found is None else int(found)

    def add_document(self, doc: Document) -> int:
        case_id = self.ensure_case(doc.case)
        return self._insert(
            "INSERT INTO documents(name, case_id, text, sha256, source, language, language_source, analysis, "
            "imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (doc.name, case_id, doc.text, doc.sha256, doc.source, doc.language, doc.language_source, doc.analysis,
             now()))

    def delete_document(self, name: str) -> None:
        doc_id = self.document_id(name)
        if doc_id is not None:
            self.db.execute("DELETE FROM codings WHERE document_id=?", (doc_id,))
            self.db.execute("DELETE FROM segments WHERE document_id=?", (doc_id,))
            self.db.execute("DELETE FROM documents WHERE id=?", (doc_id,))

    def save_documents(self, writes: Sequence[DocumentWrite]) -> None:
        """Store documents with their segments and tokens (see :class:`qda.models.DocumentWrite`)."""
        for write in writes:
            doc = write.document
            if write.action == "move":
                self.set_document_case(doc.name, doc.case)
                continue
            if write.action == "delete":  # qda document delete: its memos and earlier texts go too
                self.delete_document(doc.name)
                self.db.execute("DELETE FROM notes WHERE target_kind='document' AND target=?", (doc.name,))
                self.db.execute("DELETE FROM document_versions WHERE document=?", (doc.name,))
                continue
            if write.action in ("revise", "resplit"):  # resplit: same text, new segments and tokens
                if write.action == "revise":
                    self._archive_document(doc.name)
                doc_id = self._replace_document_text(doc.name, doc)
            else:
                if write.action == "replace":
                    self.delete_document(doc.name)
                doc_id = self.add_document(doc)
            self._add_segments(doc_id, write.segments)
            if write.tokens is not None:
                self._save_tokens(doc_id, write.tokens)

    def sizes(self) -> dict[str, int]:
        """How many documents, cases and segments the project holds, counted by SQLite
        (``qda status`` must not build every segment with its text to count them)."""
        return {table: int(self._one(f"SELECT COUNT(*) FROM {table}"))
                for table in ("documents", "cases", "segments")}

    def codings_per_coder(self, statuses: Sequence[str] | None = None) -> dict[str, int]:
        """Every coder's number of codings (0 for a coder without any), in one query;
        ``statuses`` counts only codings in those statuses."""
        only = f" AND k.status IN ({', '.join('?' * len(statuses))})" if statuses is not None else ""
        rows = self.db.execute("SELECT c.name, COUNT(k.id) FROM coders c LEFT JOIN codings k ON k.coder_id=c.id"
                               + only + " GROUP BY c.id ORDER BY c.name", tuple(statuses or ())).fetchall()
        return {str(name): int(n) for name, n in rows}

    def codings_per_status(self) -> dict[str, int]:
        """How many codings are in each status (statuses without codings left out)."""
        return {str(status): int(n) for status, n in
                self.db.execute("SELECT status, COUNT(*) FROM codings GROUP BY status ORDER BY status")}

    def count_codings(self, document: str | None = None, coder: str | None = None) -> int:
        where, args = _where({"d.name": document, "c.name": coder})
        return int(self._one("SELECT COUNT(*) FROM codings k JOIN documents d ON d.id=k.document_id "
                             "JOIN coders c ON c.id=k.coder_id" + where, args))

    # ------------------------------------------------------------------ segments
    def _speaker_id(self, name: str | None, role: str | None = None) -> int | None:
        if not name:
            return None
        found = self._one("SELECT id FROM speakers WHERE name=?", (name,))
        if found is not None:
            return int(found)
        return self._insert("INSERT INTO speakers(name, role) VALUES (?, ?)", (name, role))

    def _add_segments(self, document_id: int, segments: Iterable[Segment]) -> None:
        speaker_ids: dict[tuple[str | None, str | None], int | None] = {}

        def speaker_id(s: Segment) -> int | None:
            key = (s.speaker, s.role)
            if key not in speaker_ids:
                speaker_ids[key] = self._speaker_id(s.speaker, s.role)
            return speaker_ids[key]

        # a generator, not a list: a long document's segments go to SQLite one at a time
        rows = ((document_id, s.ordinal, s.turn, speaker_id(s), s.start, s.end, s.timestamp) for s in segments)
        self.db.executemany(
            'INSERT INTO segments(document_id, ordinal, turn, speaker_id, start, "end", timestamp) '
            "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def segments(self, document: str | None = None, case: str | None = None, *, text: bool = True,
                 documents: Collection[str] | None = None) -> list[Segment]:
        """Segments in document then reading order, with their text sliced from the document
        (``text=False``: with an empty text, for the many readers that only place spans);
        ``documents``: only those of the named documents."""
        # SQLite builds the refs (as segment_ref does): a call per segment costs more in Python.
        sql = ("SELECT d.name || '#' || s.ordinal, d.name, c.name, s.turn, s.ordinal, s.start, s.\"end\", sp.name, "
               "sp.role, s.timestamp FROM segments s JOIN documents d ON d.id=s.document_id "
               "JOIN cases c ON c.id=d.case_id LEFT JOIN speakers sp ON sp.id=s.speaker_id")
        where, args = _where({"d.name": document, "c.name": case}, "d.name", list(documents) if documents is not None
                             else None)
        sql += where + " ORDER BY d.name, s.ordinal"
        rows = self.db.execute(sql, args).fetchall()
        if not text:
            return segments_from_fields((*row[:7], "", *row[7:]) for row in rows)
        texts = self._texts({row[1] for row in rows})
        return segments_from_fields((*row[:7], texts[row[1]][row[5]:row[6]], *row[7:]) for row in rows)

    def role_spans(self, roles: Sequence[str]) -> dict[str, tuple[list[int], list[int]]]:
        """Per document, the (starts, ends) of the segments whose speaker has one of ``roles``,
        in text order: where words of those speakers lie, without a :class:`Segment` per
        segment (136,000 at 1,000 interviews)."""
        # document ids, not names: a string per row is most of a read's cost
        rows = self.db.execute(
            'SELECT s.document_id, s.start, s."end" FROM segments s JOIN speakers sp ON sp.id=s.speaker_id '
            f"WHERE sp.role IN ({', '.join('?' * len(roles))}) ORDER BY s.document_id, s.start, s.ordinal",
            list(roles)).fetchall()
        names = dict(self.db.execute("SELECT id, name FROM documents"))
        spans: dict[str, tuple[list[int], list[int]]] = {}
        for document, group in groupby(rows, key=itemgetter(0)):
            found = list(group)
            spans[names[document]] = ([row[1] for row in found], [row[2] for row in found])
        return spans

    def segment_bounds(self, document: str, start: int | None = None, end: int | None = None) -> list[Segment]:
        """A document's segments without their text or speakers (fast: for checking spans);
        with ``start`` and ``end``, only the segments overlapping that span."""
        sql = 'SELECT turn, ordinal, start, "end" FROM segments WHERE document_id=?'
        args: list[Any] = [self.document_id(document)]
        if start is not None and end is not None:
            sql += ' AND start < ? AND "end" > ?'
            args += [end, start]
        return [Segment(ref=segment_ref(document, ordinal), document=document, case="", turn=turn, ordinal=ordinal,
                        start=s_start, end=s_end, text="")
                for turn, ordinal, s_start, s_end in self.db.execute(sql + " ORDER BY ordinal", args)]

    def _texts(self, names: set[str]) -> dict[str, str]:
        """The texts of the named documents, each read once.

        Rows of segments and codings slice these; selecting the text with every row
        would copy a whole document per segment.
        """
        if not names:
            return {}
        if len(names) <= 500:
            marks = ", ".join("?" * len(names))
            return dict(self.db.execute(f"SELECT name, text FROM documents WHERE name IN ({marks})", list(names)))
        return {name: text for name, text in self.db.execute("SELECT name, text FROM documents") if name in names}

    def segment_spans(self, roles: Sequence[str] | None = None) -> list[Segment]:
        """Every segment (of speakers with ``roles`` when given) without its text, for speed."""
        sql = ('SELECT d.name, c.name, s.turn, s.ordinal, s.start, s."end", sp.name, sp.role, s.timestamp '
               "FROM segments s JOIN documents d ON d.id=s.document_id JOIN cases c ON c.id=d.case_id "
               "LEFT JOIN speakers sp ON sp.id=s.speaker_id")
        args: list[Any] = []
        if roles:
            sql += f" WHERE sp.role IN ({', '.join('?' * len(roles))})"
            args.extend(roles)
        return [Segment(ref=segment_ref(doc, ordinal), document=doc, case=case_, turn=turn, ordinal=ordinal,
                        start=start, end=end, text="", speaker=speaker, role=role, timestamp=ts)
                for doc, case_, turn, ordinal, start, end, speaker, role, ts in
                self.db.execute(sql + " ORDER BY d.name, s.ordinal", args)]

    def segment_places(self, roles: Sequence[str] | None = None) -> list[tuple[str, str, str, int, int]]:
        """Every segment (of speakers with ``roles`` when given) as (ref, document, case, start, end),
        in document then reading order: what attaching hits to segments needs, for speed."""
        sql = ("SELECT d.name || '#' || s.ordinal, d.name, c.name, s.start, s.\"end\" FROM segments s "
               "JOIN documents d ON d.id=s.document_id JOIN cases c ON c.id=d.case_id")
        args: list[Any] = []
        if roles:
            sql += f" JOIN speakers sp ON sp.id=s.speaker_id WHERE sp.role IN ({', '.join('?' * len(roles))})"
            args.extend(roles)
        return self.db.execute(sql + " ORDER BY d.name, s.ordinal", args).fetchall()

    def segment_index(self) -> dict[str, tuple[int, int, int, int, str]]:
        """Every segment's ref -> (segment id, document id, start, end, ref), from one query.

        What checking a coding sheet needs (136,000 rows at 1,000 interviews), without the
        cost of a :class:`Segment` per segment; :meth:`document_index` gives the documents.
        Within :meth:`holding_segments`, it is read once.
        """
        version = self._one("PRAGMA data_version") if self._holding else None
        if self._held_index is not None and self._held_index[0] == version:
            return self._held_index[1]
        # SQLite builds the refs (as segment_ref does): a Python call per segment costs more.
        rows = self.db.execute("SELECT s.id, d.id, s.start, s.\"end\", d.name || '#' || s.ordinal FROM segments s "
                               "JOIN documents d ON d.id=s.document_id").fetchall()
        index = dict(zip(map(itemgetter(4), rows), rows))
        if version is not None:
            self._held_index = (version, index)
        return index

    @contextmanager
    def holding_segments(self) -> Iterator[None]:
        """Read :meth:`segment_index` once within this block (a sheet import reads it to check
        the rows, then to store the codings). Nothing in the block may change segments or
        document names; another connection's write is noticed (``PRAGMA data_version``)."""
        self._holding = True
        try:
            yield
        finally:
            self._holding, self._held_index, self._held_layout = False, None, None

    def document_index(self) -> dict[int, tuple[str, str, str]]:
        """Every document's id (as :meth:`segment_index` gives it) -> (name, case, text)."""
        return {doc_id: (name, case, text) for doc_id, name, case, text in self.db.execute(
                "SELECT d.id, d.name, c.name, d.text FROM documents d JOIN cases c ON c.id=d.case_id")}

    def _segment_ids(self, refs: set[str] | None = None) -> dict[str, tuple[int, int, int, int, str]]:
        """Segment ref -> (segment id, document id, start, end), of every segment or of ``refs``.

        A few refs (one coding made in the workspace) are looked up one by one: building
        the whole map costs tens of milliseconds on a large project.
        """
        result: dict[str, tuple[int, int, int, int, str]] = {}
        if refs is not None and len(refs) <= 100:
            for ref in refs:
                document, _, ordinal = ref.rpartition("#")
                row = self.db.execute('SELECT s.id, d.id, s.start, s."end" FROM segments s JOIN documents d '
                                      "ON d.id=s.document_id WHERE d.name=? AND s.ordinal=?",
                                      (document, int(ordinal) if ordinal.isdigit() else -1)).fetchone()
                if row is not None:
                    result[ref] = (*row, ref)
            return result
        return self.segment_index()

    # ------------------------------------------------------------------ codebook
    def save_codebook(self, codebook: Codebook, source: str = "") -> None:
        """Replace the project's codebook; codes keep their row ids (and codings) by key."""
        self.db.execute(
            "INSERT OR REPLACE INTO codebook(id, name, description, languages, attributes, source, loaded_at) "
            "VALUES (1, ?, ?, ?, ?, ?, ?)",
            (codebook.name, codebook.description, json.dumps(list(codebook.languages)),
             json.dumps([{"name": a.name, "values": list(a.values), "description": a.description}
                         for a in codebook.attributes], ensure_ascii=False), source, now()))
        self.db.execute("DELETE FROM categories")
        self.db.executemany(
            "INSERT INTO categories(key, parent, labels, description, position) VALUES (?, ?, ?, ?, ?)",
            [(c.id, c.parent, json.dumps(c.labels, ensure_ascii=False), c.description, i)
             for i, c in enumerate(codebook.categories)])
        keep = {c.id for c in codebook.codes}
        existing = {key for (key,) in self.db.execute("SELECT key FROM codes")}
        for key in existing - keep:
            self.db.execute("DELETE FROM codes WHERE key=?", (key,))
        for i, c in enumerate(codebook.codes):
            values = (c.category, c.parent, json.dumps(c.labels, ensure_ascii=False), c.definition, c.include,
                      c.exclude, json.dumps(c.attributes, ensure_ascii=False),
                      json.dumps([p.__dict__ for p in c.patterns], ensure_ascii=False),
                      c.color, c.guid, int(c.codable), i)
            if c.id in existing:
                self.db.execute(
                    "UPDATE codes SET category=?, parent=?, labels=?, definition=?, include=?, exclude=?, "
                    "attributes=?, patterns=?, color=?, guid=?, codable=?, position=? WHERE key=?", values + (c.id,))
            else:
                self.db.execute(
                    "INSERT INTO codes(category, parent, labels, definition, include, exclude, attributes, "
                    "patterns, color, guid, codable, position, key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    values + (c.id,))

    def rekey_codes(self, keys: Mapping[str, str]) -> int:
        """Rename codes (old key -> an unused key) or merge them (old key -> an existing code,
        which takes every coding of every coder); memos about the code follow it. Codings of
        one coder that a merge puts on the same passage twice become one (the oldest stays, and
        keeps the others' notes). Returns how many such duplicates were removed."""
        removed = 0
        for old, new in keys.items():
            old_id = self._one("SELECT id FROM codes WHERE key=?", (old,))
            if old_id is None:
                raise ProjectError(f"unknown code '{old}'")
            new_id = self._one("SELECT id FROM codes WHERE key=?", (new,))
            self.db.execute("UPDATE notes SET target=? WHERE target_kind='code' AND target=?", (new, old))
            if new_id is None:
                self.db.execute("UPDATE codes SET key=? WHERE id=?", (new, old_id))
                continue
            self.db.execute("UPDATE codings SET code_id=? WHERE code_id=?", (new_id, old_id))
            kept: dict[tuple[Any, ...], tuple[int, str]] = {}
            drop: list[int] = []
            for row_id, *passage, note in self.db.execute(
                    'SELECT id, coder_id, document_id, start, "end", COALESCE(segment_id, -1), note FROM codings '
                    "WHERE code_id=? ORDER BY id", (new_id,)).fetchall():
                first = kept.get(tuple(passage))
                if first is None:
                    kept[tuple(passage)] = (row_id, note)
                    continue
                drop.append(row_id)
                if note and note not in first[1]:
                    merged = f"{first[1]}\n{note}" if first[1] else note
                    kept[tuple(passage)] = (first[0], merged)
                    self.db.execute("UPDATE codings SET note=? WHERE id=?", (merged, first[0]))
            self.db.executemany("DELETE FROM codings WHERE id=?", [(i,) for i in drop])
            removed += len(drop)
        return removed

    def codes_in_use(self) -> dict[str, int]:
        """Code key -> number of codings, for codes that have codings."""
        return {key: n for key, n in self.db.execute(
            "SELECT c.key, COUNT(*) FROM codings k JOIN codes c ON c.id=k.code_id GROUP BY c.key")}

    def codebook(self) -> Codebook | None:
        """The stored codebook, built again only when its rows differ from the last read.

        Each coding request of the workspace checks its code against it: building the
        objects (JSON of labels, attributes and patterns) every time was a third of the
        request (bench/serve.py), while reading the raw rows to compare costs little.
        """
        row = self.db.execute("SELECT name, description, languages, attributes FROM codebook WHERE id=1").fetchone()
        if row is None:
            return None
        categories = self.db.execute("SELECT key, parent, labels, description FROM categories "
                                     "ORDER BY position").fetchall()
        codes = self.db.execute("SELECT key, category, parent, labels, definition, include, exclude, attributes, "
                                "patterns, color, guid, codable FROM codes ORDER BY position").fetchall()
        rows = (row, categories, codes)
        cached = self.__dict__.get("_codebook")
        if cached is not None and cached[0] == rows:
            return cast(Codebook, cached[1])
        name, description, languages, attributes = row
        book = Codebook(
            name=name, languages=tuple(json.loads(languages)),
            attributes=tuple(AttributeDef(a["name"], tuple(a["values"]), a.get("description", ""))
                             for a in json.loads(attributes)),
            categories=tuple(Category(key, json.loads(labels), parent, desc)
                             for key, parent, labels, desc in categories),
            codes=tuple(Code(id=key, labels=json.loads(labels), category=cat, parent=parent, definition=definition,
                             include=include, exclude=exclude, attributes=json.loads(attrs),
                             patterns=tuple(Pattern(**p) for p in json.loads(patterns)), color=color, guid=guid,
                             codable=bool(codable))
                        for key, cat, parent, labels, definition, include, exclude, attrs, patterns, color, guid,
                        codable in codes),
            description=description)
        self.__dict__["_codebook"] = (rows, book)
        return book

    def codebook_source(self) -> str:
        return self._one("SELECT source FROM codebook WHERE id=1") or ""

    # ------------------------------------------------------------------ coders and codings
    def ensure_coder(self, name: str) -> int:
        found = self._one("SELECT id FROM coders WHERE name=?", (name,))
        if found is not None:
            return int(found)
        return self._insert("INSERT INTO coders(name, created_at) VALUES (?, ?)", (name, now()))

    def coders(self) -> list[str]:
        return [name for (name,) in self.db.execute("SELECT name FROM coders ORDER BY id")]

    def replace_codings(self, replace: Sequence[CodingScope], codings: Sequence[Coding]) -> int:
        """Remove the stored codings in ``replace``, then store ``codings`` (their ``id`` is
        ignored; one without ``created_at`` is stamped now). Returns how many were removed.

        Codings name their coder, code, document and segment (ref); coders are created
        when new, the rest must exist.
        """
        removed = 0
        ids: dict[str, tuple[int, int, int, int, str]] | None = None  # every segment's, built once
        # Stored codings in segment scopes, by content: one planned again stays as it is (with
        # its id and date), so re-importing a corrected sheet writes only what changed.
        stored: dict[tuple[Any, ...], list[int]] = {}
        # ... and by coder, code, document and segment: a sheet gives a code on a whole segment,
        # so a stored coding of that code there (a span, a re-anchored "changed" one, a
        # suggestion) that the sheet gives again without a new memo stays as it is
        placed: dict[tuple[Any, ...], list[tuple[tuple[Any, ...], int, str]]] = {}
        # Whole-coder and document scopes first: what they delete is not kept below.
        for scope in sorted(replace, key=lambda scope: scope.segments is not None or scope.codes is not None):
            coder_id = self._one("SELECT id FROM coders WHERE name=?", (scope.coder,))
            if coder_id is None:
                continue
            # a scope with statuses leaves codings in the other statuses alone (qda.models.STATUS_RULES)
            only = (f" AND status IN ({', '.join('?' * len(scope.statuses))})"
                    if scope.statuses is not None else "")
            kept = tuple(scope.statuses or ())
            if scope.segments is not None or scope.codes is not None:
                # The coder's codings are read once, not looked up per segment of the scope
                # (a sheet of 1,000 interviews lists 136,000 segments); with codes, only theirs.
                of_codes = ""
                if scope.codes is not None:
                    code_ids = [i for i, in self.db.execute(
                        f"SELECT id FROM codes WHERE key IN ({', '.join('?' * len(scope.codes))})", scope.codes)]
                    of_codes = f" AND code_id IN ({', '.join('?' * len(code_ids))})"
                    kept += tuple(code_ids)
                found = self.db.execute(
                    'SELECT id, coder_id, code_id, document_id, segment_id, start, "end", source, note, pattern, '
                    "status, name, modified_by, modified_at, score, origin FROM codings WHERE coder_id=?" + only
                    + of_codes, (coder_id, *kept)).fetchall()
                if scope.documents is not None and found:
                    names = set(scope.documents)
                    in_docs = {i for i, name in self.db.execute("SELECT id, name FROM documents") if name in names}
                    found = [row for row in found if row[3] in in_docs]
                if scope.segments is not None and found:
                    ids = self._segment_ids() if ids is None else ids
                    covered = {ids[ref][0] for ref in scope.segments}
                    found = [row for row in found if row[4] in covered]  # segment_id
                for row in found:
                    stored.setdefault(row[1:], []).append(row[0])
                    placed.setdefault(row[1:5], []).append((row[1:], row[0], row[8]))
            elif scope.documents is None:
                removed += self.db.execute("DELETE FROM codings WHERE coder_id=?" + only,
                                           (coder_id, *kept)).rowcount
            else:
                removed += sum(self.db.execute(
                    "DELETE FROM codings WHERE coder_id=? AND document_id=(SELECT id FROM documents WHERE name=?)"
                    + only, (coder_id, name, *kept)).rowcount for name in scope.documents)
        rows = self._coding_rows(codings, ids)
        if stored:
            fresh = []
            for row in rows:
                same = stored.get(row[:6] + row[7:])  # all but created_at
                matched = bool(same)
                if same:
                    same.pop()
                # row[:4]: coder, code, document, segment; row[8]: the note (memo)
                alike = [(key, i) for key, i, note in placed.get(row[:4], ())
                         if i in stored.get(key, ()) and (not row[8] or note == row[8])]
                for key, i in alike:
                    stored[key].remove(i)
                if not matched and not alike:
                    fresh.append(row)
            gone = [(i,) for found in stored.values() for i in found]
            self.db.executemany("DELETE FROM codings WHERE id=?", gone)
            removed += len(gone)
            rows = fresh
        self.db.executemany(
            'INSERT INTO codings(coder_id, code_id, document_id, segment_id, start, "end", created_at, source, note, '
            "pattern, status, name, modified_by, modified_at, score, origin) VALUES ("
            + ", ".join("?" * 16) + ")", rows)
        return removed

    def _coding_rows(self, codings: Sequence[Coding],
                     segment_ids: dict[str, tuple[int, int, int, int, str]] | None = None) -> list[tuple[Any, ...]]:
        """Codings as rows of the codings table (names resolved to row ids); ``segment_ids``
        is the map of every segment, when the caller has it already."""
        if not codings:
            return []
        codes = {key: cid for cid, key in self.db.execute("SELECT id, key FROM codes")}
        docs = {name: did for did, name in self.db.execute("SELECT id, name FROM documents")}
        if segment_ids is None:
            refs = {c.segment for c in codings if c.segment}
            segments = self._segment_ids(refs) if refs else {}
        else:
            segments = segment_ids
        unknown = sorted({f"code '{c.code}'" for c in codings if c.code not in codes}
                         | {f"document '{c.document}'" for c in codings if c.document not in docs}
                         | {f"segment '{c.segment}'" for c in codings if c.segment and c.segment not in segments})
        if unknown:
            raise ProjectError(f"cannot store codings on unknown {', '.join(unknown)}")
        coders = {name: self.ensure_coder(name) for name in dict.fromkeys(c.coder for c in codings)}
        stamp = now()
        return [(coders[c.coder], codes[c.code], docs[c.document], segments[c.segment][0] if c.segment else None,
                 c.start, c.end, c.created_at or stamp, c.source, c.note, c.pattern, c.status, c.name, c.modified_by,
                 c.modified_at, c.score, c.origin) for c in codings]

    def update_codings(self, codings: Sequence[Coding]) -> None:
        """Write changed codings back (code, span, segment, note, status), by their ids."""
        if any(c.id is None for c in codings):
            raise ProjectError("a coding without an id cannot be updated")
        codes = {key: cid for cid, key in self.db.execute("SELECT id, key FROM codes")}
        refs = {c.segment for c in codings if c.segment}
        segments = self._segment_ids(refs) if refs else {}
        self.db.executemany(
            'UPDATE codings SET code_id=?, start=?, "end"=?, segment_id=?, note=?, status=?, name=?, modified_by=?, '
            "modified_at=? WHERE id=?",
            [(codes.get(c.code), c.start, c.end, segments[c.segment][0] if c.segment else None, c.note, c.status,
              c.name, c.modified_by, c.modified_at, c.id) for c in codings])

    def codings(self, coder: str | None = None, case: str | None = None, document: str | None = None,
                ids: Sequence[int] | None = None, start: int | None = None, end: int | None = None,
                codes: Sequence[str] | None = None, cases: Sequence[str] | None = None) -> list[Coding]:
        """Codings with their text, in document and text order; ``start`` and ``end``: only
        those on exactly that span (the workspace's duplicate check need not read them all);
        ``codes``: only those of these codes (a retrieval of one code need not read 30);
        ``cases``: only those of these cases (the report's quotes, in one query)."""
        # the columns in Coding's field order, the text (sliced below) after the segment ref
        sql = ("SELECT co.name, c.key, d.name, ca.name, k.start, k.\"end\", d.name || '#' || s.ordinal, sp.name, "
               "k.created_at, k.source, k.note, k.pattern, k.status, k.id, k.name, k.modified_by, k.modified_at, "
               "k.score, k.origin FROM codings k "
               "JOIN coders co ON co.id=k.coder_id "
               "JOIN codes c ON c.id=k.code_id JOIN documents d ON d.id=k.document_id "
               "JOIN cases ca ON ca.id=d.case_id LEFT JOIN segments s ON s.id=k.segment_id "
               "LEFT JOIN speakers sp ON sp.id=s.speaker_id")
        where, args = _where({"co.name": coder, "ca.name": case, "d.name": document, "k.start": start,
                              'k."end"': end}, "k.id", ids)
        if codes is not None:
            where += (" AND " if where else " WHERE ") + f"c.key IN ({', '.join('?' * len(codes))})"
            args.extend(codes)
        if cases is not None:
            where += (" AND " if where else " WHERE ") + f"ca.name IN ({', '.join('?' * len(cases))})"
            args.extend(cases)
        sql += where + ' ORDER BY co.name, d.name, k.start, k."end", c.position'
        rows = self.db.execute(sql, args).fetchall()
        texts = self._texts({row[2] for row in rows})
        return codings_from_fields((*row[:7], texts[row[2]][row[4]:row[5]], *row[7:]) for row in rows)

    def coding_columns(self, coder: str, statuses: Sequence[str] | None = None) -> dict[str, list[Any]]:
        """A coder's codings as columns, without text or an object per coding (for bulk work: agreement).

        Columns: ``code`` (key), ``document``, ``start``, ``end``, ``segment`` (the coded
        segment's id, as :meth:`segment_columns` gives it; -1 for a span coding) and
        ``source``, in no particular order. ``statuses`` keeps only codings in those statuses
        (``qda.models.counting_statuses``).
        """
        # Row ids only (names are mapped here): strings made per row are most of a read's cost.
        sql = ('SELECT k.code_id, k.document_id, k.start, k."end", COALESCE(k.segment_id, -1), k.source '
               "FROM codings k WHERE k.coder_id=(SELECT id FROM coders WHERE name=?)")
        args: list[Any] = [coder]
        if statuses is not None:
            sql += f" AND k.status IN ({', '.join('?' * len(statuses))})"
            args.extend(statuses)
        columns = [list(c) for c in zip(*self.db.execute(sql, args).fetchall())] or [[] for _ in range(6)]
        codes = dict(self.db.execute("SELECT id, key FROM codes"))
        docs = dict(self.db.execute("SELECT id, name FROM documents"))
        columns[0] = [codes[i] for i in columns[0]]
        columns[1] = [docs[i] for i in columns[1]]
        return dict(zip(("code", "document", "start", "end", "segment", "source"), columns))

    def quote_rows(self, coder: str, statuses: Sequence[str]) -> list[tuple[Any, ...]]:
        """A coder's codings as the intra-case matrices quote them, without an object per coding:
        ``(case, code, document, segment, speaker, start, end, text, note)`` in the order of
        :meth:`codings` (document, start, end, the code's place in the codebook); only codings
        in ``statuses`` (``qda.models.counting_statuses``). The workbook's 63,000 codings at
        1,000 interviews take half the time of :meth:`codings`."""
        rows = self.db.execute(
            "SELECT ca.name, c.key, d.name, d.name || '#' || s.ordinal, sp.name, k.start, k.\"end\", k.note "
            "FROM codings k JOIN codes c ON c.id=k.code_id JOIN documents d ON d.id=k.document_id "
            "JOIN cases ca ON ca.id=d.case_id LEFT JOIN segments s ON s.id=k.segment_id "
            "LEFT JOIN speakers sp ON sp.id=s.speaker_id "
            "WHERE k.coder_id=(SELECT id FROM coders WHERE name=?) "
            f"AND k.status IN ({', '.join('?' * len(statuses))}) "
            'ORDER BY d.name, k.start, k."end", c.position', [coder, *statuses]).fetchall()
        texts = self._texts({row[2] for row in rows})
        return [(*row[:7], texts[row[2]][row[5]:row[6]], row[7]) for row in rows]

    def coding_tallies(self, coder: str, statuses: Sequence[str]) -> list[tuple[str, str, int, int]]:
        """Per document and code, a coder's coded passages counted in SQL (for counts only:
        matrices, tests, figures): ``(document, code, passages, spans)``; a passage is a
        distinct span, ``spans`` counts those longer than zero characters (the ones a quote
        can show). Only codings in ``statuses`` (``qda.models.counting_statuses``)."""
        # 63,000 codings become ~20,000 rows at 1,000 interviews, with no object per coding
        rows = self.db.execute(
            'SELECT document_id, code_id, COUNT(*), SUM("end" > start) FROM (SELECT DISTINCT document_id, code_id, '
            'start, "end" FROM codings WHERE coder_id=(SELECT id FROM coders WHERE name=?) AND status IN '
            f"({', '.join('?' * len(statuses))})) GROUP BY document_id, code_id", [coder, *statuses]).fetchall()
        codes = dict(self.db.execute("SELECT id, key FROM codes"))
        docs = dict(self.db.execute("SELECT id, name FROM documents"))
        return [(docs[d], codes[c], n, spans) for d, c, n, spans in rows]

    def segment_columns(self) -> dict[str, list[Any]]:
        """Every segment as columns, in document then reading order, without text (for bulk work).

        Columns: ``id`` (what :meth:`coding_columns` gives as ``segment``), ``document``,
        ``ordinal``, ``start``, ``end`` and the speaker's ``role`` (or None).
        """
        rows = self.db.execute(
            'SELECT s.id, s.document_id, s.ordinal, s.start, s."end", s.speaker_id FROM segments s '
            "JOIN documents d ON d.id=s.document_id ORDER BY d.name, s.ordinal").fetchall()
        columns = [list(c) for c in zip(*rows)] or [[] for _ in range(6)]
        docs = dict(self.db.execute("SELECT id, name FROM documents"))
        roles = dict(self.db.execute("SELECT id, role FROM speakers"))
        columns[1] = [docs[i] for i in columns[1]]
        columns[5] = [roles.get(i) for i in columns[5]]
        return dict(zip(("id", "document", "ordinal", "start", "end", "role"), columns))

    def segment_runs(self) -> list[tuple[str, int]]:
        """Each document with segments and its number of segments, in :meth:`segment_columns`'
        order: a document's segments are the run of positions after the documents before it."""
        return [(str(name), int(n)) for _doc, name, n, _first, _last in self._segment_layout()]

    def segments_at(self, positions: Sequence[int]) -> dict[str, list[int]]:
        """Columns ``id``, ``start`` and ``end`` of the segments at ``positions`` (indices into
        :meth:`segment_columns`' rows), in the order given: a run of one code from the score
        cache reads its few thousand suggested segments, not the 136,000 rows of every segment."""
        layout = self._segment_layout()
        if not positions:
            return {"id": [], "start": [], "end": []}
        total = sum(n for _doc, _name, n, _first, _last in layout)
        if min(positions) < 0 or max(positions) >= total:
            raise IndexError(f"no segment at position {min(positions) if min(positions) < 0 else max(positions)} "
                             f"({total} segments)")
        if len(positions) * 4 > total or any(last - first + 1 != n for _doc, _name, n, first, last in layout):
            # many positions (reading every row is then cheaper than looking each up), or a
            # document whose ordinals have gaps (a position is not its ordinal): every segment read
            rows = self.db.execute('SELECT s.id, s.start, s."end" FROM segments s JOIN documents d '
                                   "ON d.id=s.document_id ORDER BY d.name, s.ordinal").fetchall()
            chosen = [rows[i] for i in positions]
        else:
            # where each document's run of positions begins; a position is then (document, ordinal)
            begins, keys, at = [], [], 0
            for _doc, _name, n, _first, _last in layout:
                begins.append(at)
                at += n
            for position in positions:
                k = bisect.bisect_right(begins, position) - 1
                doc, _name, _n, first, _last = layout[k]
                keys.append((doc << 32) + first + position - begins[k])
            chosen = self.db.execute(
                'SELECT s.id, s.start, s."end" FROM json_each(?) j JOIN segments s ON s.document_id=(j.value >> 32) '
                "AND s.ordinal=(j.value & 4294967295) ORDER BY j.key", (json.dumps(keys),)).fetchall()
        return dict(zip(("id", "start", "end"), ([int(r[k]) for r in chosen] for k in range(3))))

    def _segment_layout(self) -> list[tuple[int, str, int, int, int]]:
        """(document id, name, segments, first ordinal, last ordinal) per document with segments, by
        name; within :meth:`holding_segments`, read once (a run asks for it twice)."""
        version = self._one("PRAGMA data_version") if self._holding else None
        if self._held_layout is not None and self._held_layout[0] == version:
            return self._held_layout[1]
        layout: list[tuple[int, str, int, int, int]] = self.db.execute(
            "SELECT d.id, d.name, COUNT(*), MIN(s.ordinal), MAX(s.ordinal) FROM segments s JOIN documents d "
            "ON d.id=s.document_id GROUP BY d.id ORDER BY d.name").fetchall()
        if version is not None:
            self._held_layout = (version, layout)
        return layout

    # ------------------------------------------------------------------ tokens, versions, roles
    def _save_tokens(self, document_id: int, tokens: Tokens) -> None:
        """Keep a document's tokens: offsets as int32 arrays, words joined by U+001F (UTF-8).

        Each column is written by SQLite's incremental blob I/O into a zeroblob of its size:
        bound whole, SQLite copied the row two or three times (+140 MB for the 1.9 M tokens
        of a 10 MB transcript, +35 MB this way). The words are therefore BLOBs of UTF-8
        (a TEXT value cannot be filled in place); :meth:`tokens` reads both kinds.
        """
        columns: dict[str, Any] = {
            "starts": memoryview(tokens.starts).cast("B"), "ends": memoryview(tokens.ends).cast("B"),
            "lower": "\x1f".join(tokens.lower).encode(), "lemma": "\x1f".join(tokens.lemma).encode()}
        if not hasattr(self.db, "blobopen"):  # Python 3.10
            self.db.execute("INSERT OR REPLACE INTO tokens(document_id, starts, ends, lower, lemma) "
                            "VALUES (?, ?, ?, ?, ?)", (document_id, *(bytes(v) for v in columns.values())))
            return
        self.db.execute("INSERT OR REPLACE INTO tokens(document_id, starts, ends, lower, lemma) "
                        "VALUES (?, zeroblob(?), zeroblob(?), zeroblob(?), zeroblob(?))",
                        (document_id, *(len(v) for v in columns.values())))
        try:
            for column, data in columns.items():
                if len(data):
                    with self.db.blobopen("tokens", column, document_id) as blob:
                        blob.write(data)
        except sqlite3.OperationalError as exc:
            raise _named(exc, self.path) from None

    def tokens(self) -> Iterator[tuple[str, str, str, bytes, bytes, list[str], list[str]]]:
        """(document, language, text, starts, ends, lower, lemma) for every tokenised document."""
        for name, language, text, starts, ends, lower, lemma in self.db.execute(
                "SELECT d.name, d.language, d.text, t.starts, t.ends, t.lower, t.lemma FROM tokens t "
                "JOIN documents d ON d.id=t.document_id ORDER BY d.name"):
            yield name, language, text, starts, ends, _words(lower), _words(lemma)

    def _archive_document(self, name: str) -> None:
        """Keep the current text of a document before it is replaced by a revision."""
        doc = self.document(name)
        if doc is not None:
            self.db.execute("INSERT INTO document_versions(document, text, sha256, source, replaced_at) "
                            "VALUES (?, ?, ?, ?, ?)", (doc.name, doc.text, doc.sha256, doc.source, now()))

    def document_versions(self, name: str) -> list[tuple[str, str, str]]:
        """Earlier texts of a document: (replaced_at, sha256, text), oldest first."""
        return list(self.db.execute("SELECT replaced_at, sha256, text FROM document_versions WHERE document=? "
                                    "ORDER BY id", (name,)))

    def _replace_document_text(self, name: str, doc: Document) -> int:
        """Swap a document's text for a revision; its segments and tokens are dropped (codings stay)."""
        doc_id = self.document_id(name)
        if doc_id is None:
            raise ProjectError(f"no document '{name}'")
        self.db.execute("UPDATE codings SET segment_id=NULL WHERE document_id=?", (doc_id,))
        self.db.execute("DELETE FROM segments WHERE document_id=?", (doc_id,))
        self.db.execute("DELETE FROM tokens WHERE document_id=?", (doc_id,))
        self.db.execute("UPDATE documents SET text=?, sha256=?, source=?, language=?, language_source=?, analysis=?, "
                        "imported_at=? WHERE id=?", (doc.text, doc.sha256, doc.source, doc.language,
                                                     doc.language_source, doc.analysis, now(), doc_id))
        return doc_id

    def speakers(self) -> list[tuple[str, str | None, int]]:
        """(speaker, role, number of segments)."""
        return list(self.db.execute(
            "SELECT sp.name, sp.role, COUNT(s.id) FROM speakers sp LEFT JOIN segments s ON s.speaker_id=sp.id "
            "GROUP BY sp.id ORDER BY sp.name"))

    def set_speaker_role(self, name: str, role: str | None) -> bool:
        return self.db.execute("UPDATE speakers SET role=? WHERE name=?", (role, name)).rowcount > 0

    # ------------------------------------------------------------------ variables (declared attribute types)
    def save_variables(self, variables: Sequence[Variable]) -> None:
        """Declare the types of case attributes (kept for REFI-QDA exchange)."""
        self.db.executemany("INSERT OR REPLACE INTO variables(name, type, description) VALUES (?, ?, ?)",
                            [(v.name, v.type, v.description) for v in variables])

    def variables(self) -> dict[str, tuple[str, str]]:
        """Case attribute -> (declared REFI type, description)."""
        return {name: (type_, description) for name, type_, description in
                self.db.execute("SELECT name, type, description FROM variables ORDER BY name")}

    # ------------------------------------------------------------------ document sets
    def save_document_sets(self, sets: Sequence[DocumentSet]) -> None:
        """Create the sets that do not exist and add their documents (named; already members: kept)."""
        for doc_set in sets:
            self.db.execute("INSERT OR IGNORE INTO document_sets(name, description, guid) VALUES (?, ?, ?)",
                            (doc_set.name, doc_set.description, doc_set.guid or str(uuid.uuid4())))
            set_id = self._one("SELECT id FROM document_sets WHERE name=?", (doc_set.name,))
            self.db.executemany(
                "INSERT OR IGNORE INTO document_set_members(set_id, document_id) "
                "SELECT ?, id FROM documents WHERE name=?", [(set_id, name) for name in doc_set.documents])

    def document_sets(self) -> list[DocumentSet]:
        """Every document set, by name, with its documents in name order."""
        members: dict[int, list[str]] = {}
        for set_id, name in self.db.execute(
                "SELECT m.set_id, d.name FROM document_set_members m JOIN documents d ON d.id = m.document_id "
                "ORDER BY d.name"):
            members.setdefault(set_id, []).append(name)
        rows = self.db.execute("SELECT id, name, description, guid FROM document_sets ORDER BY name")
        return [DocumentSet(name, tuple(members.get(set_id, ())), description, guid)
                for set_id, name, description, guid in rows]

    # ------------------------------------------------------------------ one coding at a time (workspace)
    # Model objects in, model objects out: the coder, code, document and segment are named,
    # never given as row ids.
    def insert_codings(self, codings: Sequence[Coding]) -> list[Coding]:
        """Store new codings (their ``id`` is ignored) and return them with their ids.

        Coders are created when new; codes, documents and segment refs must exist.
        A coding without ``created_at`` is stamped now.
        """
        ids = [int(self.db.execute(
            'INSERT INTO codings(coder_id, code_id, document_id, segment_id, start, "end", created_at, source, '
            "note, pattern, status, name, modified_by, modified_at, score, origin) VALUES ("
            + ", ".join("?" * 16) + ")", row).lastrowid or 0)
            for row in self._coding_rows(codings)]
        stored: dict[int | None, Coding] = {}
        for at in range(0, len(ids), 500):  # SQLite caps the parameters of one statement
            stored.update((c.id, c) for c in self.codings(ids=ids[at:at + 500]))
        return [stored[i] for i in ids]

    def coding(self, coding_id: int) -> Coding | None:
        """One coding by id, with its text."""
        found = self.codings(ids=[coding_id])
        return found[0] if found else None

    def update_coding(self, coding: Coding) -> Coding:
        """Write a changed coding back (code, span, segment, note, status), by its id."""
        self.update_codings([coding])
        updated = self.coding(coding.id or 0)
        assert updated is not None
        return updated

    def delete_coding(self, coding_id: int) -> bool:
        """Remove one coding; False when there was none with that id."""
        return self.db.execute("DELETE FROM codings WHERE id=?", (coding_id,)).rowcount > 0

    # ------------------------------------------------------------------ code suggestions (qda suggest)
    def save_suggest_model(self, model_id: str, coder: str, info: str, model: bytes) -> None:
        """Keep a trained suggestion model (``info``: JSON; ``model``: the pickled estimators)."""
        self.db.execute("INSERT OR REPLACE INTO suggest_models(id, created_at, coder, info, model) "
                        "VALUES (?, ?, ?, ?, ?)", (model_id, now(), coder, info, model))

    def suggest_models(self) -> list[tuple[str, str, str, str]]:
        """Every stored model as (id, created_at, coder, info JSON), oldest first."""
        return [(str(a), str(b), str(c), str(d)) for a, b, c, d in self.db.execute(
            "SELECT id, created_at, coder, info FROM suggest_models ORDER BY created_at, rowid")]

    def suggest_model_bytes(self, model_id: str) -> bytes | None:
        """The pickled estimators of one stored model."""
        found = self._one("SELECT model FROM suggest_models WHERE id=?", (model_id,))
        return bytes(found) if found is not None else None

    def segments_signature(self) -> str:
        """A cheap fingerprint of what the suggester reads of the segments: the documents (name,
        case, text, import), the segments, the speakers' roles and the stored tokens."""
        row = self.db.execute(
            "SELECT (SELECT IFNULL(group_concat(name || ':' || case_id || ':' || sha256 || ':' || imported_at, '|'), "
            "'') FROM documents), "
            "(SELECT COUNT(*) || ':' || IFNULL(SUM(start * 3 + \"end\" + ordinal), 0) || ':' "
            "|| IFNULL(SUM(IFNULL(speaker_id, 0) * 5 + document_id), 0) FROM segments), "
            "(SELECT IFNULL(group_concat(id || '=' || IFNULL(role, ''), '|'), '') FROM speakers), "
            "(SELECT COUNT(*) || ':' || IFNULL(SUM(LENGTH(starts)), 0) FROM tokens)").fetchone()
        return hashlib.sha256("\x1e".join(str(v) for v in row).encode()).hexdigest()

    def coder_signature(self, coder: str) -> str:
        """A cheap fingerprint of one coder's codings (equal while none is added, removed or changed)."""
        row = self.db.execute(
            "SELECT COUNT(*) || ':' || IFNULL(MAX(id), 0) || ':' || IFNULL(SUM(id), 0) || ':' "
            "|| IFNULL(SUM(start * 7 + \"end\" + code_id * 13), 0) || ':' || IFNULL(SUM(LENGTH(status)), 0) "
            "FROM codings WHERE coder_id=(SELECT id FROM coders WHERE name=?)", (coder,)).fetchone()
        return str(row[0])

    def suggest_scores(self, model_id: str, segments: str, codes: Sequence[str]) -> dict[str, bytes]:
        """The cached scores of ``codes`` by ``model_id`` (code -> float64 bytes), those kept
        for the segments' signature ``segments`` only (see :meth:`segments_signature`)."""
        if not codes:
            return {}
        return {str(code): bytes(blob) for code, blob in self.db.execute(
            f"SELECT code, scores FROM suggest_scores WHERE model=? AND segments=? AND code IN "
            f"({', '.join('?' * len(codes))})", (model_id, segments, *codes))}

    def save_suggest_scores(self, model_id: str, segments: str, scores: Mapping[str, bytes]) -> None:
        """Keep a model's scores per code (a cache, for the segments' signature ``segments``: the
        scores of other segments, and of models older than the 3 latest, are dropped; write it
        with ``transaction(marks_state=False)``)."""
        self.db.execute("DELETE FROM suggest_scores WHERE segments<>? OR (model<>? AND model NOT IN "
                        "(SELECT id FROM suggest_models ORDER BY created_at DESC, rowid DESC LIMIT 3))",
                        (segments, model_id))
        self.db.executemany("INSERT OR REPLACE INTO suggest_scores(model, code, segments, scores) VALUES (?, ?, ?, ?)",
                            [(model_id, code, segments, blob) for code, blob in scores.items()])

    def replace_suggestions(self, coder: str, origin: str, documents: Sequence[str] | None,
                            per_code: Iterable[tuple[str, Sequence[tuple[int, int, int, float]]]]) -> int:
        """A machine coder's suggestions, one code at a time: for each (code, rows) given, the
        coder's stored codings of that code (in ``documents``; all when None) are replaced by
        ``rows`` of (segment id, start, end, score), status suggested, origin ``origin``. A stored
        coding of the code on a segment given again stays as it is (its id and date), as
        :meth:`replace_codings` keeps a coding planned again. Plain rows, one code's at a time:
        a run of 25 codes on 136,000 segments plans 500,000 suggestions. Returns how many stored
        codings were removed; runs in the caller's transaction."""
        coder_id = self.ensure_coder(coder)
        codes = {key: cid for cid, key in self.db.execute("SELECT id, key FROM codes")}
        in_docs = self._document_ids(documents)
        stamp, status = now(), str(CodingStatus.SUGGESTED)
        removed, looked_up = 0, 0
        document_of: dict[int, int] = {}  # segment id -> document id, of the new rows' segments
        for code, rows in per_code:
            if code not in codes:
                raise ProjectError(f"cannot store codings on unknown code '{code}'")
            code_id = codes[code]
            stored = self._stored_suggestions(coder_id, code_id, in_docs)
            new = []
            for segment_id, start, end, score in rows:
                same = stored.get(segment_id)
                if same:
                    same.pop()
                    continue
                new.append((segment_id, start, end, score))
            missing = {row[0] for row in new if row[0] not in document_of}
            if missing:  # a few thousand looked up by id; past that, every segment's read once
                looked_up += len(missing)
                document_of.update(self._documents_of(missing) if looked_up <= _FEW_SEGMENTS else
                                   self.db.execute("SELECT id, document_id FROM segments"))
            fresh = [(document_of[segment_id], segment_id, start, end, score) for segment_id, start, end, score in new]
            gone = [(i,) for ids in stored.values() for i in ids]
            self.db.executemany("DELETE FROM codings WHERE id=?", gone)
            removed += len(gone)
            # what every row shares is written into the statement (quoted), not bound per row:
            # binding 5 values instead of 16 makes inserting 500,000 rows a quarter cheaper
            self.db.executemany(
                'INSERT INTO codings(coder_id, code_id, document_id, segment_id, start, "end", created_at, source, '
                "note, pattern, status, name, modified_by, modified_at, score, origin) VALUES ("
                f"{int(coder_id)}, {int(code_id)}, ?, ?, ?, ?, {_quoted(stamp)}, 'suggest', '', NULL, "
                f"{_quoted(status)}, '', '', '', ?, {_quoted(origin)})", fresh)
        return removed

    def same_suggestions(self, coder: str, documents: Sequence[str] | None,
                         per_code: Iterable[tuple[str, Sequence[int]]]) -> bool:
        """Whether :meth:`replace_suggestions` with these arguments would change nothing (the
        coder and its codes exist, and each code's stored codings in ``documents`` are on the
        segments given, as many on each; ``per_code``: (code, segment ids)): a run that gives what is
        stored needs no snapshot."""
        coder_id = self._one("SELECT id FROM coders WHERE name=?", (coder,))
        if coder_id is None:
            return False
        codes = {key: cid for cid, key in self.db.execute("SELECT id, key FROM codes")}
        in_docs = self._document_ids(documents)
        for code, rows in per_code:
            if code not in codes:
                return False
            stored = Counter({segment: len(ids) for segment, ids in
                              self._stored_suggestions(int(coder_id), codes[code], in_docs).items()})
            if stored != Counter(rows):
                return False
        return True

    def _document_ids(self, documents: Sequence[str] | None) -> set[int] | None:
        if documents is None:
            return None
        names = set(documents)
        return {i for i, name in self.db.execute("SELECT id, name FROM documents") if name in names}

    def _stored_suggestions(self, coder_id: int, code_id: int, in_docs: set[int] | None) -> dict[int | None, list[int]]:
        """Segment id -> ids of the coder's stored codings of the code on it (in ``in_docs`` only when given)."""
        stored: dict[int | None, list[int]] = {}
        # "+coder_id": read through the code's index, not the coder's: a machine coder holds every
        # code's suggestions (a run of 25 codes read the coder's 100,000 codings 25 times: 0.27 s, now 0.09 s)
        for coding_id, segment_id, document_id in self.db.execute(
                "SELECT id, segment_id, document_id FROM codings WHERE +coder_id=? AND code_id=?", (coder_id, code_id)):
            if in_docs is None or document_id in in_docs:
                stored.setdefault(segment_id, []).append(coding_id)
        return stored

    def _documents_of(self, segments: Collection[int]) -> dict[int, int]:
        """Segment id -> document id of ``segments``."""
        return dict(self.db.execute("SELECT s.id, s.document_id FROM json_each(?) j JOIN segments s ON s.id=j.value",
                                    (json.dumps(sorted(segments)),)))

    def save_suggest_sample(self, model_id: str, coder: str, segments: str) -> int:
        """Keep a validation sample (``segments``: JSON list of refs with their stratum); returns its id."""
        return self._insert("INSERT INTO suggest_samples(model, coder, created_at, segments) VALUES (?, ?, ?, ?)",
                            (model_id, coder, now(), segments))

    def suggest_samples(self, model_id: str | None = None) -> list[tuple[int, str, str, str, str]]:
        """Validation samples as (id, model, coder, created_at, segments JSON), oldest first."""
        where, args = ("WHERE model=?", (model_id,)) if model_id else ("", ())
        return [(int(a), str(b), str(c), str(d), str(e)) for a, b, c, d, e in self.db.execute(
            f"SELECT id, model, coder, created_at, segments FROM suggest_samples {where} ORDER BY id", args)]

    def insert_suggest_review(self, review: SuggestReview) -> SuggestReview:
        """Record a reviewer's decision on a suggestion; returns it with its id."""
        ident = self._insert(
            "INSERT INTO suggest_reviews(at, reviewer, model, code, document, segment, action, coded, coding, score) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (review.at or now(), review.reviewer, review.model, review.code, review.document, review.segment,
             review.action, review.coded, review.coding, review.score))
        return dataclasses.replace(review, id=ident)

    def suggest_reviews(self, reviewer: str | None = None, model: str | None = None,
                        undone: bool = False) -> list[SuggestReview]:
        """Review decisions, oldest first (those taken back with undo only when ``undone``)."""
        where, args = ["1=1" if undone else "undone=0"], []
        for column, value in (("reviewer", reviewer), ("model", model)):
            if value is not None:
                where.append(f"{column}=?")
                args.append(value)
        return [SuggestReview(reviewer=who, model=model_, code=code, document=doc, segment=seg, action=action,
                              coded=coded, coding=coding, score=score, at=at, id=ident, undone=bool(gone))
                for ident, who, model_, code, doc, seg, action, coded, coding, score, at, gone in self.db.execute(
            "SELECT id, reviewer, model, code, document, segment, action, coded, coding, score, at, undone "
            f"FROM suggest_reviews WHERE {' AND '.join(where)} ORDER BY id", args)]

    def mark_suggest_review_undone(self, review_id: int) -> None:
        self.db.execute("UPDATE suggest_reviews SET undone=1 WHERE id=?", (review_id,))

    # ------------------------------------------------------------------ memos
    def insert_memo(self, memo: Memo) -> Memo:
        """Store a new memo and return it with its id (and a new GUID when it has none)."""
        row_id = self._insert(
            "INSERT INTO notes(guid, name, text, author, created_at, target_kind, target, modified_by, modified_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (memo.guid or str(uuid.uuid4()), memo.name, memo.text, memo.author, memo.created_at or now(),
             memo.target_kind, memo.target, memo.modified_by, memo.modified_at))
        return self.memos(ids=[row_id])[0]

    def insert_memos(self, memos: Sequence[Memo]) -> None:
        """Store memos as they are (an imported memo keeps its GUID and times, even empty
        times); a memo without a GUID gets a new one, so that every memo can be referred to."""
        self.db.executemany(
            "INSERT INTO notes(guid, name, text, author, created_at, target_kind, target, modified_by, modified_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(m.guid or str(uuid.uuid4()), m.name, m.text, m.author, m.created_at, m.target_kind, m.target,
              m.modified_by, m.modified_at) for m in memos])

    def memos(self, target_kind: str | None = None, target: str | None = None,
              ids: Sequence[int] | None = None) -> list[Memo]:
        """Memos in the order they were written, optionally of one target."""
        where, args = _where({"target_kind": target_kind, "target": target}, "id", ids)
        return [Memo(*row) for row in self.db.execute(
            "SELECT text, target_kind, target, name, author, created_at, guid, id, modified_by, modified_at "
            "FROM notes" + where + " ORDER BY id", args)]

    def update_memo(self, memo: Memo) -> Memo:
        """Write a memo's text, name and last change (who, when) back, by its id."""
        self.db.execute("UPDATE notes SET text=?, name=?, modified_by=?, modified_at=? WHERE id=?",
                        (memo.text, memo.name, memo.modified_by, memo.modified_at, memo.id))
        return self.memos(ids=[memo.id or 0])[0]

    def delete_memo(self, memo_id: int) -> bool:
        return self.db.execute("DELETE FROM notes WHERE id=?", (memo_id,)).rowcount > 0

    # ------------------------------------------------------------------ workspace accounts
    def set_user(self, name: str, password_hash: str, role: str | None = None) -> None:
        """Create an account, or give an existing one a new password (its role kept unless
        ``role`` is given); the hash, never the password. A new password ends the failed-login
        count and any lockout."""
        self.db.execute("INSERT INTO users(name, password, created_at, role) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT(name) DO UPDATE SET password=excluded.password, failures=0, locked_until='', "
                        "role=CASE WHEN ? IS NULL THEN users.role ELSE excluded.role END",
                        (name, password_hash, now(), role or "coder", role))

    def user_hash(self, name: str) -> str | None:
        found = self._one("SELECT password FROM users WHERE name=?", (name,))
        return None if found is None else str(found)

    def users(self) -> list[str]:
        return [str(name) for (name,) in self.db.execute("SELECT name FROM users ORDER BY name")]

    def accounts(self, name: str | None = None) -> list[Account]:
        """Every account (or the one named), by name."""
        sql = "SELECT name, role, password, disabled, failures, locked_until, created_at FROM users"
        rows = self.db.execute(sql + (" WHERE name=?" if name is not None else "") + " ORDER BY name",
                               (name,) if name is not None else ())
        return [Account(str(n), str(role), str(hashed), bool(off), int(failures), str(locked), str(created))
                for n, role, hashed, off, failures, locked, created in rows]

    def update_account(self, account: Account) -> bool:
        """Write an account's role, password hash, state and failed logins back, by name."""
        return self.db.execute(
            "UPDATE users SET role=?, password=?, disabled=?, failures=?, locked_until=? WHERE name=?",
            (account.role, account.password_hash, int(account.disabled), account.failures, account.locked_until,
             account.name)).rowcount > 0

    def delete_user(self, name: str) -> bool:
        self.db.execute("DELETE FROM sessions WHERE user=?", (name,))
        return self.db.execute("DELETE FROM users WHERE name=?", (name,)).rowcount > 0

    # ------------------------------------------------------------------ workspace sessions
    def add_session(self, digest: str, user: str, created_at: str) -> None:
        self.db.execute("INSERT INTO sessions(digest, user, created_at) VALUES (?, ?, ?)", (digest, user, created_at))

    def session(self, digest: str) -> tuple[str, str] | None:
        """(user, created_at) of a live session, or None."""
        row = self.db.execute("SELECT user, created_at FROM sessions WHERE digest=?", (digest,)).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def delete_sessions(self, *, digest: str | None = None, user: str | None = None,
                        before: str | None = None) -> int:
        """End one session (``digest``), every session of ``user``, or those created before ``before``."""
        if digest is not None:
            return int(self.db.execute("DELETE FROM sessions WHERE digest=?", (digest,)).rowcount)
        if user is not None:
            return int(self.db.execute("DELETE FROM sessions WHERE user=?", (user,)).rowcount)
        return int(self.db.execute("DELETE FROM sessions WHERE created_at < ?", (before or "",)).rowcount)

def _precise_now() -> str:
    """UTC time with microseconds: history entries of commands running at once must be ordered."""
    return datetime.now(timezone.utc).isoformat()


_COUNTS_SQL = ("SELECT c.name, COUNT(k.id) FROM coders c LEFT JOIN codings k ON k.coder_id = c.id "
               "GROUP BY c.id ORDER BY c.name")
# What an undo leaves alone: the history itself and the workspace's accounts (a password
# reset is not taken back by undoing a coding), and in meta the snapshot policy; the
# suggester's score cache (valid by its own key, whatever the state).
_NOT_DATA = frozenset({"history", "history_sessions", "users", "sessions", "suggest_scores"})
_KEPT_META = ("backup_keep", "backup_max_mb", "schema_version", "blind")
# Page actions that change nothing already there: they never open a history line by themselves.
_ADDING = frozenset({"added", "memo added"})
_PAGE_WORDS = {"deleted": ("deletion", "deletions"), "edited": ("edit", "edits"),
               "added": ("addition", "additions"), "memo deleted": ("memo deletion", "memo deletions"),
               "memo edited": ("memo edit", "memo edits"), "memo added": ("new memo", "new memos")}


def page_command(user: str, tally: Mapping[str, int]) -> str:
    """The history line of a page session, e.g. ``page edits by alice: 3 deletions, 2 edits``."""
    parts = [f"{n} {_PAGE_WORDS[action][n != 1]}" for action, n in
             sorted(tally.items(), key=lambda item: list(_PAGE_WORDS).index(item[0])) if n]
    return f"page edits by {user}: {', '.join(parts) or 'nothing'}"


def _data_tables(db: sqlite3.Connection, schema: str = "main") -> list[tuple[str, list[str], bool]]:
    """(table, columns, keyed by rowid) of every table an undo brings back, by name."""
    found = []
    for (name,) in db.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type='table' "
                              "AND name NOT LIKE 'sqlite_%' ORDER BY name"):
        if name in _NOT_DATA:
            continue
        info = db.execute(f'PRAGMA {schema}.table_info("{name}")').fetchall()
        keys = [row for row in info if row[5]]
        found.append((name, [row[1] for row in info], len(keys) == 1 and str(keys[0][2]).upper() == "INTEGER"))
    return found


def _table_digest(db: sqlite3.Connection, name: str, columns: Sequence[str], by_rowid: bool) -> str:
    """A digest of every column of every row of one table (meta: not the policy, the token)."""
    digest = hashlib.blake2b(digest_size=20)
    skipped = (*_KEPT_META, STATE_TOKEN)
    where = f" WHERE key NOT IN ({', '.join('?' * len(skipped))})" if name == "meta" else ""
    order = "rowid" if by_rowid else ", ".join(str(i + 1) for i in range(len(columns)))
    cursor = db.execute(f'SELECT * FROM "{name}"{where} ORDER BY {order}', skipped if where else ())
    while batch := cursor.fetchmany(20_000):
        digest.update(repr(batch).encode())
    return digest.hexdigest()


def content_digest(db: sqlite3.Connection) -> str:
    """A digest of every column of every data table (code ids, memos, attributes, speakers'
    roles, the codebook...): equal only when the data are the same. Not the history, the
    accounts, the snapshot policy or the state token."""
    return hashlib.blake2b("".join(f"{name}:{_table_digest(db, name, columns, by_rowid)};"
                                   for name, columns, by_rowid in _data_tables(db)).encode(),
                           digest_size=20).hexdigest()


def _quoted(value: str) -> str:
    """An SQL string literal (quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def data_differ(db: sqlite3.Connection, other: sqlite3.Connection) -> bool:
    """Whether two databases hold different data, every column compared (as :func:`content_digest`).

    Row counts and ids are compared first, table by table (milliseconds: most writes add or
    remove rows); only tables equal on those are read in full, and the first difference ends
    it. Reading every row of a million codings costs about 3 s of CPU.
    """
    tables = _data_tables(db)
    if [t[0] for t in tables] != [t[0] for t in _data_tables(other)]:
        return True
    for name, _, by_rowid in tables:
        if by_rowid:
            quick = f'SELECT COUNT(*), IFNULL(SUM(rowid), 0), IFNULL(MAX(rowid), 0) FROM "{name}"'
            if db.execute(quick).fetchone() != other.execute(quick).fetchone():
                return True
    return any(_table_digest(db, *table) != _table_digest(other, *table) for table in tables)


#: A run's new suggestions look up the documents of up to this many segments by id (``json_each``);
#: past that, every segment's document is read at once.
_FEW_SEGMENTS = 20000


def _open_snapshot(path: Path) -> sqlite3.Connection:
    """A read-only connection to a snapshot; on a read-only folder (where SQLite cannot make
    the -shm file a WAL database needs) an immutable one."""
    uri = path.resolve().as_uri()
    try:
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True)
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:
        db.close()
        return sqlite3.connect(f"{uri}?immutable=1", uri=True)


class Backups:
    """Snapshots (SQLite online backup API) and the history of writes, for one Store.

    Kept apart from the Store's read and write methods. A write that replaces, edits or
    deletes data runs inside :meth:`recorded` (a command) or :meth:`page_edit` (the
    browser): its snapshot is copied and its history line written inside the write's own
    transaction, so a write is in the history or did not happen. A write that turns out to
    change nothing (every column compared) leaves no line and no snapshot.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.folder = store.path.parent / BACKUP_DIR
        # `qda --no-snapshot`: a project over the size cap is written without a snapshot (the
        # write is in the history, marked as not undoable); otherwise such a write is refused
        self.unsnapshotted_ok = False

    # -------------------------------------------------------------- policy
    def policy(self) -> tuple[int, int]:
        """(snapshots kept, size cap of backups/ in MB), from the project's meta table."""
        keep = self.store.get_meta("backup_keep")
        cap = self.store.get_meta("backup_max_mb")
        return (int(keep) if keep else DEFAULT_BACKUP_KEEP, int(cap) if cap else DEFAULT_BACKUP_MAX_MB)

    def set_policy(self, keep: int | None = None, max_mb: int | None = None, confirmed: bool = False
                   ) -> tuple[int, int]:
        """Change the policy; one that would delete snapshots needs ``confirmed`` (NeedsConfirmation)."""
        if keep is not None and keep < 1:
            raise ProjectError(f"keep at least one snapshot (got {keep})")
        if max_mb is not None and max_mb < 1:
            raise ProjectError(f"the size cap must be at least 1 MB (got {max_mb})")
        old_keep, old_cap = self.policy()
        doomed = self.would_prune(old_keep if keep is None else keep, old_cap if max_mb is None else max_mb)
        if doomed and not confirmed:
            raise NeedsConfirmation(
                f"this deletes {len(doomed)} of {len(self.files())} snapshot(s) in {self.folder}; nothing changed",
                "yes", [Problem(f.name, "would be deleted") for f in doomed]
                + [Problem("", "confirm with --yes to change the policy and delete them")])
        with self.store.transaction(marks_state=False):
            if keep is not None:
                self.store.set_meta("backup_keep", str(keep))
            if max_mb is not None:
                self.store.set_meta("backup_max_mb", str(max_mb))
        self.prune()
        return self.policy()

    # -------------------------------------------------------------- snapshots
    def counts(self) -> dict[str, int]:
        return {name: int(n) for name, n in self.store.db.execute(_COUNTS_SQL)}

    def files(self) -> list[BackupFile]:
        """Snapshot files, oldest first."""
        return list_backups(self.store.path.parent)

    def snapshot(self, command: str, prune: bool = True) -> str | None:
        """Copy the database as last committed into backups/; return the file name (None:
        read-only or over the cap). It reads through a connection of its own, so that inside
        a write's transaction it copies exactly the state before that write."""
        if self.store.readonly:
            return None
        keep, max_mb = self.policy()
        size = self.store.path.stat().st_size
        if size > max_mb * 1024 ** 2:
            return None
        try:
            self.folder.mkdir(exist_ok=True)
        except FileExistsError:
            raise ProjectError(f"{self.folder}: cannot keep snapshots there: it is a file, not a folder",
                               [Problem(str(self.folder), "the project keeps its snapshots in this folder",
                                        "move or rename that file, then run the command again")]) from None
        except OSError as exc:
            raise ProjectError(f"{self.folder}: cannot create the snapshot folder ({exc.strerror})",
                               [Problem(str(self.folder), "the project keeps its snapshots in this folder",
                                        "check the project folder's permissions and free space")]) from None
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        slug = "".join(ch if ch.isalnum() else "-" for ch in command.lower()).strip("-")[:40] or "write"
        target = self.folder / f"{stamp}-{slug}.qda"
        partial = target.with_suffix(".partial")
        source = sqlite3.connect(f"{self.store.path.resolve().as_uri()}?mode=ro", uri=True)
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
        except sqlite3.OperationalError as exc:
            copy.close()
            partial.unlink(missing_ok=True)
            raise _named(exc, self.store.path) from None
        finally:
            copy.close()
            source.close()
        os.replace(partial, target)
        if prune:
            self.prune()
        return target.name

    def would_prune(self, keep: int, max_mb: int) -> list[BackupFile]:
        """The snapshots a policy would delete: the oldest beyond the count and size limits
        (the newest is always kept)."""
        files = self.files()
        total = sum(f.size for f in files)
        doomed = []
        while len(files) > 1 and (len(files) > keep or total > max_mb * 1024 ** 2):
            oldest = files.pop(0)
            total -= oldest.size
            doomed.append(oldest)
        return doomed

    def prune(self) -> None:
        """Keep the newest snapshots within the count and size limits (the newest always)."""
        for doomed in self.would_prune(*self.policy()):
            doomed.path.unlink(missing_ok=True)

    def _take(self, command: str, page: bool = False) -> str:
        """The snapshot before a recorded write, inside its transaction. Over the size cap the
        write is refused (nothing written) unless ``unsnapshotted_ok``; then '' (no snapshot)."""
        if self.store.readonly:
            raise _named(sqlite3.OperationalError("attempt to write a readonly database"), self.store.path)
        name = self.snapshot(command, prune=False)
        if name is not None:
            return name
        if self.unsnapshotted_ok:
            return ""
        size = self.store.path.stat().st_size / 1024 ** 2
        cap = self.policy()[1]
        if page:  # the page cannot pass --no-snapshot: the lead raises the cap
            raise ProjectError(f"the project ({size:,.0f} MB) is larger than the snapshot cap ({cap:,} MB), so this "
                               "edit could not be undone; nothing was changed",
                               [Problem(str(self.folder), "ask the project lead to raise the cap: "
                                        "qda backup config --max-mb N")])
        raise NeedsConfirmation(
            f"{self.store.path}: the project ({size:,.0f} MB) is larger than the snapshot cap ({cap:,} MB): "
            "this write could not be undone, so nothing was written", "no_snapshot",
            [Problem(str(self.folder), "raise the cap with 'qda backup config --max-mb N'",
                     "or write without a snapshot, knowing 'qda undo' cannot take it back: "
                     "qda --no-snapshot <the same command>")])

    # -------------------------------------------------------------- recorded writes
    @contextmanager
    def recorded(self, command: str) -> Iterator[None]:
        """Run a command's write with its snapshot and history line, all in one transaction.

        The snapshot is copied after the write lock is taken (no other writer can slip in
        between) and the history line is inserted before COMMIT: a kill anywhere leaves
        either the write with its line or neither. A write whose every column compares equal
        to its snapshot leaves no line, and its snapshot is deleted.
        """
        if self.store._depth:
            raise RuntimeError("a recorded write must not run inside another transaction")
        name, kept, changed = "", False, False
        try:
            with self.store.transaction():
                token, previous = self.store.write_token, self.store.get_meta(STATE_TOKEN) or ""
                changes, before, began = self.store.db.total_changes, self.counts(), _precise_now()
                name = self._take(command)
                yield
                changed = self._changed(changes, name)
                if changed:
                    self._insert(command, name, before, self.counts(), began, token)
                else:
                    self.store.write_token = previous  # rows rewritten as they were: the state is the same
            kept = changed
        finally:
            if name and not kept:
                (self.folder / name).unlink(missing_ok=True)
        if kept:
            self.prune()

    def _changed(self, changes: int, snapshot: str) -> bool:
        if self.store.db.total_changes == changes:
            return False
        if not snapshot:
            return True
        before = _open_snapshot(self.folder / snapshot)
        try:
            return data_differ(self.store.db, before)
        finally:
            before.close()

    def _insert(self, command: str, snapshot: str, before: dict[str, int], after: dict[str, int], began: str,
                state: str, session: str = "", tally: Mapping[str, int] | None = None) -> None:
        row = self.store._insert(
            "INSERT INTO history(at, command, snapshot, before, after, began, state) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (_precise_now(), command, snapshot, json.dumps(before), json.dumps(after), began, state))
        if session:
            self.store.db.execute("INSERT INTO history_sessions(history_id, session, tally) VALUES (?, ?, ?)",
                                  (row, session, json.dumps(dict(tally or {}))))

    @contextmanager
    def page_edit(self, user: str, action: str, coding_delta: int = 0, times: int = 1) -> Iterator[None]:
        """One edit from the browser workspace (``action``: a key of the page tally, e.g.
        ``deleted``), in one transaction with its history line.

        A user's first edit that changes or deletes something takes the snapshot and opens
        the line ``page edits by alice: 1 deletion``; their later edits update that line,
        until they have been idle :data:`PAGE_SESSION_IDLE_MINUTES` or a command (or an
        undo) wrote in between. Additions open no line (nothing is lost by them); inside an
        open line they are counted. ``coding_delta``: how the user's coding count changes;
        ``times``: how many edits of ``action`` this one write makes (the search hits coded at once).
        """
        name, created = "", False
        try:
            with self.store.transaction():
                token, changes = self.store.write_token, self.store.db.total_changes
                entry = self._open_session(user)
                if entry is None and action in _ADDING:
                    yield
                    return
                before, began = (self.counts(), _precise_now()) if entry is None else (entry.before, entry.began)
                if entry is None:
                    name = self._take(f"page edits by {user}", page=True)
                yield
                if self.store.db.total_changes == changes:
                    return
                after = dict(entry.after if entry else before)
                after[user] = after.get(user, 0) + coding_delta
                tally = dict(entry.tally if entry else {})
                tally[action] = tally.get(action, 0) + times
                if entry is None:
                    self._insert(page_command(user, tally), name, before, after, began, token, user, tally)
                    created = True
                else:
                    self.store.db.execute("UPDATE history SET at=?, command=?, after=?, state=? WHERE id=?",
                                          (_precise_now(), page_command(user, tally), json.dumps(after), token,
                                           entry.id))
                    self.store.db.execute("UPDATE history_sessions SET tally=? WHERE history_id=?",
                                          (json.dumps(tally), entry.id))
        finally:
            if name and not created:
                (self.folder / name).unlink(missing_ok=True)
        if created:
            self.prune()

    def _open_session(self, user: str) -> HistoryEntry | None:
        """The user's page-edit line that later edits join, if there is one."""
        found = self._entries("WHERE h.id = (SELECT MAX(history_id) FROM history_sessions WHERE session=?)", (user,))
        if not found or found[0].undone or not found[0].snapshot:
            return None
        entry = found[0]
        if self.store._one("SELECT COUNT(*) FROM history WHERE id > ? AND id NOT IN "
                           "(SELECT history_id FROM history_sessions)", (entry.id,)):
            return None  # a command or an undo came after it: undoing both at once would surprise
        if not (self.folder / entry.snapshot).is_file():
            return None  # its starting point is gone (pruned): start again with a snapshot
        idle = datetime.now(timezone.utc) - datetime.fromisoformat(entry.at)
        return entry if idle.total_seconds() < PAGE_SESSION_IDLE_MINUTES * 60 else None

    # -------------------------------------------------------------- history
    def _entries(self, where: str = "", args: Sequence[Any] = ()) -> list[HistoryEntry]:
        return [HistoryEntry(i, at, cmd, snap, json.loads(before), json.loads(after), bool(undone), began, state,
                             session, json.loads(tally) if tally else {})
                for i, at, cmd, snap, before, after, undone, began, state, session, tally in self.store.db.execute(
                    "SELECT h.id, h.at, h.command, h.snapshot, h.before, h.after, h.undone, h.began, h.state, "
                    "IFNULL(s.session, ''), IFNULL(s.tally, '') FROM history h "
                    f"LEFT JOIN history_sessions s ON s.history_id = h.id {where} ORDER BY h.id", args)]

    def history(self) -> list[HistoryEntry]:
        """Every recorded write, oldest first."""
        return self._entries()

    def undo_warnings(self, entry: HistoryEntry) -> list[str]:
        """What restoring the snapshot before ``entry`` would take back besides that write.

        Another write may have ended after the snapshot was taken (another user's page
        edits, a command that is not in the history such as an import of new transcripts);
        restoring the snapshot undoes those too. An undo needs them confirmed.
        """
        warnings = []
        overlapping = [other.command for other in self.history()
                       if other.id != entry.id and not other.undone and entry.began and other.began
                       and other.at >= entry.began and other.began <= entry.at
                       and not other.command.startswith(("undo", "backup restore"))]
        if overlapping:
            warnings.append(f"other writes ran at the same time or after it ({'; '.join(overlapping)}): "
                            "the snapshot does not hold all of them, so undo takes them back too")
        if entry.state.startswith("["):  # a line written before state tokens: the old signature
            recorded = json.loads(entry.state)
            changed = recorded != list(self.store.state_signature())[:len(recorded)]
        else:
            changed = bool(entry.state) and entry.state != (self.store.get_meta(STATE_TOKEN) or "")
        if changed and not overlapping:
            warnings.append("the project changed after this write (a write not in the history, e.g. an import "
                            "of transcripts or a coding added in the page): undo takes those changes back too")
        warnings += self.others_changes(entry)
        return warnings

    def others_changes(self, entry: HistoryEntry) -> list[str]:
        """Page edits: what users other than the session's changed since its snapshot (their
        codings per coder and memos per author), which undoing the session would take back."""
        if not entry.session or not entry.snapshot or not (self.folder / entry.snapshot).is_file():
            return []
        codings = ('SELECT co.name, c.key, d.name, k.start, k."end", k.note, k.status FROM codings k '
                   "JOIN coders co ON co.id = k.coder_id JOIN codes c ON c.id = k.code_id "
                   "JOIN documents d ON d.id = k.document_id")
        memos = "SELECT author, target_kind, target, text FROM notes"
        snapshot = _open_snapshot(self.folder / entry.snapshot)
        try:
            then = [Counter(snapshot.execute(codings)), Counter(snapshot.execute(memos))]
        finally:
            snapshot.close()
        now_ = [Counter(self.store.db.execute(codings)), Counter(self.store.db.execute(memos))]
        lines = []
        for (kind, old), new in zip((("coding", then[0]), ("memo", then[1])), now_, strict=True):
            people = sorted({row[0] for row in (old - new) + (new - old)} - {entry.session})
            for who in people:
                added = sum(n for row, n in (new - old).items() if row[0] == who)
                removed = sum(n for row, n in (old - new).items() if row[0] == who)
                lines.append(f"{who}'s {kind}s changed after these page edits began ({added} new or edited, "
                             f"{removed} deleted or edited since): undo takes those changes back too")
        return lines

    def last_undoable(self) -> HistoryEntry | None:
        """The latest write not yet undone (undos and restores are taken back with ``backup restore``)."""
        for entry in reversed(self.history()):
            if not entry.undone and not entry.command.startswith(("undo", "backup restore")):
                return entry
        return None

    def restore(self, name: str, command: str, undoes: int | None = None) -> HistoryEntry:
        """Bring the data back to snapshot ``name``, in one transaction with its history line.

        The current state is snapshotted first (so ``backup restore`` can come back to it).
        The history and the accounts stay as they are (the history would otherwise go back
        in time with the data); ``undoes`` marks the entry that an undo reverses. A snapshot
        of an older schema is brought up to date on a staged copy first.
        """
        source = resolve_backup(self.store.path.parent, name)
        staged = self.folder / f".restoring-{uuid.uuid4().hex}.staged"
        src, dst = _open_snapshot(source), sqlite3.connect(staged)
        try:
            src.backup(dst)
        except sqlite3.DatabaseError as exc:
            raise ProjectError(f"{source}: cannot be restored ({exc})") from None
        finally:
            src.close()
            dst.close()
        try:
            older = Store(Store._connect(staged), staged)
            try:
                if older.schema_version() < SCHEMA_VERSION:
                    older.migrate()
            finally:
                older.close()
            return self._restore_from(staged, command, undoes)
        finally:
            for leftover in (staged, staged.with_name(staged.name + "-wal"), staged.with_name(staged.name + "-shm")):
                leftover.unlink(missing_ok=True)

    def _restore_from(self, staged: Path, command: str, undoes: int | None) -> HistoryEntry:
        db = self.store.db
        before, began, current = self.counts(), _precise_now(), ""
        db.execute("ATTACH DATABASE ? AS restored", (str(staged),))
        try:
            with self.store.transaction(marks_state=False):  # the snapshot's own state token comes back
                current = self.snapshot(f"before {command}", prune=False) or ""
                db.execute("PRAGMA defer_foreign_keys=ON")
                kept = ", ".join("?" * len(_KEPT_META))
                for table, _columns, _ in _data_tables(db):
                    where = f" WHERE key NOT IN ({kept})" if table == "meta" else ""
                    db.execute(f'DELETE FROM main."{table}"{where}', _KEPT_META if where else ())
                for table, columns, _ in _data_tables(db, "restored"):
                    where = f" WHERE key NOT IN ({kept})" if table == "meta" else ""
                    names = ", ".join(f'"{c}"' for c in columns)
                    db.execute(f'INSERT INTO main."{table}"({names}) SELECT {names} FROM restored."{table}"{where}',
                               _KEPT_META if where else ())
                if undoes is not None:
                    db.execute("UPDATE history SET undone=1 WHERE id=?", (undoes,))
                self._insert(command, current, before, self.counts(), began, self.store.get_meta(STATE_TOKEN) or "")
        except BaseException:
            if current:
                (self.folder / current).unlink(missing_ok=True)
            raise
        finally:
            db.execute("DETACH DATABASE restored")
        self.prune()
        return self.history()[-1]


def list_backups(folder: Path) -> list[BackupFile]:
    """The snapshot files of the project in ``folder``, oldest first (readable without opening it)."""
    found = []
    for path in sorted((folder / BACKUP_DIR).glob("*.qda")):
        stat = path.stat()
        found.append(BackupFile(path.name, path, stat.st_size,
                                datetime.fromtimestamp(stat.st_mtime, timezone.utc).replace(microsecond=0).isoformat()))
    return found


def resolve_backup(folder: Path, name: str) -> Path:
    """The snapshot file called ``name`` (or a unique prefix of it), checked to be a sound database."""
    files = list_backups(folder)
    matches = [f.path for f in files if f.name == name] or [f.path for f in files if f.name.startswith(name)]
    if len(matches) != 1:
        known = ", ".join(f.name for f in files[-5:]) or "none"
        what = "no snapshot" if not matches else f"{len(matches)} snapshots"
        raise ProjectError(f"{what} called '{name}' in {folder / BACKUP_DIR} (latest: {known})",
                           [Problem(str(folder / BACKUP_DIR), "see 'qda backup list'")])
    path = matches[0]
    Store.check_header(path)
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        result = [row[0] for row in db.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        result = [str(exc)]
    finally:
        db.close()
    if result != ["ok"]:
        raise ProjectError(f"{path}: this snapshot is damaged too ({'; '.join(result[:3])})")
    return path


def backup_counts(path: Path) -> dict[str, int]:
    """Codings per coder in a snapshot file; an unreadable one is an error, never "0 codings"."""
    try:
        db = _open_snapshot(path)
    except sqlite3.DatabaseError as exc:
        raise ProjectError(f"{path}: the snapshot cannot be read ({exc})") from None
    try:
        return {name: int(n) for name, n in db.execute(_COUNTS_SQL)}
    except sqlite3.DatabaseError as exc:
        raise ProjectError(f"{path}: the snapshot cannot be read ({exc})",
                           [Problem(str(path), "the file is damaged or not a qda snapshot",
                                    "'qda backup list' shows the other snapshots")]) from None
    finally:
        db.close()


def restore_damaged(folder: Path, name: str) -> Path:
    """Replace a project database that cannot be opened by snapshot ``name``.

    The damaged file is kept beside it (``project.qda.damaged-<time>``), never deleted.
    Returns that path.
    """
    source = resolve_backup(folder, name)
    db_path = folder / DB_NAME
    if db_path.is_symlink():
        # a project.qda that links elsewhere (a synced or larger disk): the damaged file is set
        # aside and restored where it really lives, and the link keeps pointing at it
        db_path = db_path.resolve()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside = db_path.with_name(f"{db_path.name}.damaged-{stamp}")
    if db_path.exists():
        os.replace(db_path, aside)
    for suffix in ("-wal", "-shm"):
        extra = db_path.with_name(db_path.name + suffix)
        if extra.exists():
            os.replace(extra, aside.with_name(aside.name + suffix))
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    dst = sqlite3.connect(db_path)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return aside


def find_project_dir(explicit: str | Path | None = None, cwd: Path | None = None) -> Path:
    """``--project``, else ``$QDA_PROJECT``, else the nearest enclosing project folder."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / DB_NAME).exists():
            return folder
    raise ProjectError("no qda project here: run 'qda init DIR', or pass --project DIR, or set QDA_PROJECT")


def project_names(folder: str | Path | None = None) -> dict[str, Any]:
    """A project's names (coders, codes, cases, case and code attributes) and schema
    version, read without writing anything: for shell completion and ``qda doctor``
    (:meth:`qda.project.Project.peek`; :mod:`qda.peek` for a front end in a hurry)."""
    store = Store.open_read_only(find_project_dir(folder))
    try:
        codebook, cases = store.codebook(), store.cases()
        return {"schema": store.schema_version(), "schema_supported": SCHEMA_VERSION, "coders": store.coders(),
                "codes": [c.id for c in codebook.codes] if codebook else [], "cases": [c.name for c in cases],
                "case_attributes": sorted({k for c in cases for k in c.attributes}),
                "code_attributes": [a.name for a in codebook.attributes] if codebook else []}
    finally:
        store.close()
