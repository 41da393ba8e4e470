"""Workspace accounts (``qda users``, ``qda serve`` on a network): password hashes, roles,
the login throttle and session ids.

Everything here is pure: the facade reads and writes the accounts, this module decides.
Who may code as whom is decided in this layer (an account name is its coder name).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from qda.coding.sheets import check_coder_name
from qda.errors import InvalidCodingError, NotFoundError, ThrottledError
from qda.models import Account, Role
from qda.results import Column, Note, Row, TableView, json_dict

if TYPE_CHECKING:
    import pandas as pd

# OWASP's password storage cheat sheet: scrypt with N = 2^17, r = 8, p = 1 (128 MiB, about
# 0.4 s of one core here). hashlib refuses more than 32 MiB unless maxmem says otherwise.
SCRYPT = {"n": 2 ** 17, "r": 8, "p": 1}
_MAXMEM = 256 * 1024 * 1024
MIN_PASSWORD = 8

# Failed logins in a row on one account: from the 3rd, the next try waits 5, 10, 20, ... s
# (a person who mistyped waits a moment; a guesser gets a few dozen tries an hour); from the
# 10th the account is locked for 15 minutes, which the lead can lift (qda users unlock NAME).
# A right password resets the count.
BACKOFF_AFTER = 3
BACKOFF_SECONDS = 5.0
LOCK_AFTER = 10
LOCK_FOR = timedelta(minutes=15)

SESSION_HOURS = 12  # a session lasts this long at most, then the user logs in again


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=_MAXMEM)


def hash_password(password: str) -> str:
    """A salted scrypt hash (memory-hard), in a self-describing text form."""
    if len(password) < MIN_PASSWORD:
        raise InvalidCodingError(f"the password needs at least {MIN_PASSWORD} characters")
    salt = os.urandom(16)
    digest = _scrypt(password, salt, SCRYPT["n"], SCRYPT["r"], SCRYPT["p"])
    return (f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}$"
            f"{base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}")


def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches the stored hash (constant-time compare)."""
    parts = (stored or "").split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or not all(p.isdigit() for p in parts[1:4]):
        # spend the same time as a real check so user names cannot be probed by timing
        _scrypt(password, b"0" * 16, SCRYPT["n"], SCRYPT["r"], SCRYPT["p"])
        return False
    _, n, r, p, salt, digest = parts
    found = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    return hmac.compare_digest(found, base64.b64decode(digest))


def needs_rehash(stored: str) -> bool:
    """True for a hash made with weaker parameters than today's (rehashed at the next login)."""
    parts = stored.split("$")
    if len(parts) != 6 or not all(p.isdigit() for p in parts[1:4]):
        return True
    return (int(parts[1]), int(parts[2]), int(parts[3])) < (SCRYPT["n"], SCRYPT["r"], SCRYPT["p"])


def check_role(role: str) -> str:
    """A known role (lead, coder, viewer), or an error naming them."""
    try:
        return Role(str(role).strip().lower()).value
    except ValueError:
        raise InvalidCodingError(f"unknown role '{role}': use {', '.join(r.value for r in Role)}") from None


def check_account_name(name: str) -> str:
    """Account names are coder names: a user codes as the coder of the same name."""
    return check_coder_name(name)


def known(account: Account | None, name: str) -> Account:
    if account is None:
        raise NotFoundError(f"no account '{name}' (qda users list shows them)")
    return account


def utc(at: datetime | None = None) -> datetime:
    return (at or datetime.now(timezone.utc)).astimezone(timezone.utc)


def wait_left(account: Account, at: datetime) -> float:
    """Seconds before ``account`` may try to log in again (0: now)."""
    if not account.locked_until:
        return 0.0
    return max(0.0, (datetime.fromisoformat(account.locked_until) - at).total_seconds())


def refuse_while_locked(account: Account, at: datetime) -> None:
    """ThrottledError when the account must wait; the password is not even checked then."""
    left = wait_left(account, at)
    if not left:
        return
    if account.failures >= LOCK_AFTER:
        minutes = max(1, round(left / 60))
        raise ThrottledError(f"too many failed logins: this account is locked for {minutes} more minute(s); "
                             f"the lead can lift it now with 'qda users unlock {account.name}'")
    raise ThrottledError(f"too many failed logins: wait {left:.0f} s before trying again")


def after_failure(account: Account, at: datetime) -> Account:
    """The account after one more wrong password: a back-off, then a lockout."""
    failures = account.failures + 1
    if failures >= LOCK_AFTER:
        until = at + LOCK_FOR
    elif failures >= BACKOFF_AFTER:
        until = at + timedelta(seconds=BACKOFF_SECONDS * 2 ** (failures - BACKOFF_AFTER))
    else:
        return replace(account, failures=failures, locked_until="")
    return replace(account, failures=failures, locked_until=until.isoformat())


def new_session() -> tuple[str, str]:
    """A fresh session id for the cookie, and the digest the database keeps of it."""
    token = secrets.token_urlsafe(32)
    return token, session_digest(token)


def session_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_expired(created_at: str, at: datetime) -> bool:
    return at - datetime.fromisoformat(created_at) > timedelta(hours=SESSION_HOURS)


@dataclass(frozen=True)
class AccountRow:
    """An account as ``qda users list`` shows it (never the hash)."""

    name: str
    role: str
    state: str  # active | disabled | locked until ... | waiting
    failures: int
    created_at: str


@dataclass(frozen=True)
class AccountList:
    """The workspace accounts, with their role and state."""

    accounts: tuple[AccountRow, ...]
    leads: int

    @classmethod
    def of(cls, accounts: list[Account], at: datetime | None = None) -> AccountList:
        now = utc(at)

        def state(a: Account) -> str:
            if a.disabled:
                return "disabled"
            if wait_left(a, now):
                return f"locked until {a.locked_until[:19].replace('T', ' ')} UTC"
            return "active"
        rows = tuple(AccountRow(a.name, a.role, state(a), a.failures, a.created_at) for a in accounts)
        return cls(rows, sum(1 for a in accounts if a.role == Role.LEAD and not a.disabled))

    def to_dict(self) -> dict[str, Any]:
        return json_dict(self)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([json_dict(a) for a in self.accounts],
                            columns=["name", "role", "state", "failures", "created_at"])

    def to_table(self) -> TableView:
        if not self.accounts:
            return TableView(lead=(Note("no accounts yet: qda users add NAME --role lead|coder|viewer"),))
        notes = () if self.leads else (Note("no active lead: give one account the lead role "
                                            "(qda users role NAME lead) to adjudicate in the browser", "warning"),)
        return TableView(columns=(Column("name"), Column("role"), Column("state"), Column("failed logins", True)),
                         rows=tuple(Row((a.name, a.role, a.state, a.failures)) for a in self.accounts), notes=notes)


@dataclass(frozen=True)
class BlindMode:
    """Whether coders see each other's codings in the workspace, and why."""

    blind: bool
    source: str  # "setting" (qda blind on|off) or "default"

    def to_dict(self) -> dict[str, Any]:
        return json_dict(self)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([self.to_dict()])

    def to_table(self) -> TableView:
        if self.blind:
            text = ("blind mode is on: each coder sees only their own codings and memos; comparing and "
                    "adjudicating wait until the lead lifts it (qda blind off)")
        else:
            text = "blind mode is off: coders see each other's codings; the lead compares and adjudicates"
        why = " (the default)" if self.source == "default" else ""
        return TableView(lead=(Note(text + why),))


@dataclass(frozen=True)
class BlindView:
    """Blind mode as the workspace answers it (``/api/blind``): the project's setting, and
    whether it holds for this server (``qda serve --unblind`` lifts it for the server only)."""

    mode: BlindMode
    unblind_server: bool

    def to_dict(self) -> dict[str, Any]:
        return {**self.mode.to_dict(), "blind": self.mode.blind and not self.unblind_server,
                "unblind_server": self.unblind_server}

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([self.to_dict()])

    def to_table(self) -> TableView:
        view = self.mode.to_table()
        if not self.unblind_server:
            return view
        return TableView(lead=(*view.lead, Note("this server runs with --unblind: blind mode is off here")))


@dataclass(frozen=True)
class SessionView:
    """Who is working in the workspace (``GET /api/session``): the session's coder and role,
    the coders the page offers, blind mode for this request, whether the coder is fixed
    (``--coder``), whether the server has accounts, and the session's CSRF token."""

    coder: str | None
    role: str | None
    coders: tuple[str, ...]
    blind: bool
    fixed: bool
    accounts: bool
    csrf: str

    def to_dict(self) -> dict[str, Any]:
        return json_dict(self)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{k: v for k, v in self.to_dict().items() if k not in ("coders", "csrf")}])

    def to_table(self) -> TableView:
        who = f"{self.coder} ({self.role})" if self.coder else "no coder chosen"
        return TableView(lead=(Note(f"{who}; blind mode {'on' if self.blind else 'off'}"),))
