"""Who may call what in the workspace, and the HTTP hardening every answer gets.

Every ``/api`` endpoint declares the access it needs for reading (GET) and for writing
(POST, PATCH, DELETE), one of :data:`LEVELS`; the app's ``api`` decorator checks the
caller's role against it before the handler runs. Roles come from the account (network
mode) or are ``lead`` for the single user on localhost without accounts.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qda.models import Role

ANYONE = "anyone"  # no login needed (the session endpoint says who you are)
READ = "read"  # every role
WRITE = "write"  # coders and the lead: viewers never write
LEAD = "lead"  # the lead only: adjudication, blind mode, changes to every coder's codings

LEVELS: dict[str, frozenset[str]] = {
    ANYONE: frozenset(r.value for r in Role),
    READ: frozenset(r.value for r in Role),
    WRITE: frozenset({Role.LEAD.value, Role.CODER.value}),
    LEAD: frozenset({Role.LEAD.value}),
}
LARGEST_ID = 2 ** 63 - 1  # SQLite's integer: a longer id names nothing


@dataclass(frozen=True)
class Caller:
    """The user behind a request: their coder name and role."""

    name: str
    role: str


def refusal(role: str, level: str) -> str:
    """Why ``role`` may not call an endpoint that needs ``level``."""
    if level == LEAD:
        return f"only the lead may do this (you are a {role}); ask the lead, or see 'qda users list'"
    return f"a {role} reads but does not write; the lead can change your role (qda users role NAME coder)"


class ApiHeaders:
    """``nosniff`` and ``no-store`` on every ``/api`` answer: JSON holding transcript text is
    neither guessed as another type nor kept in shared or browser caches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(("/api", "/login", "/logout")):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in (b"cache-control", b"x-content-type-options")]
                headers += [(b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class AddressThrottle:
    """Failed logins per client address in a sliding window (kept in memory: a restart
    forgets them; the per-account count is in the project and survives)."""

    def __init__(self, limit: int = 20, window: float = 600.0) -> None:
        self.limit, self.window = limit, window
        self.failures: dict[str, deque[float]] = {}

    def _recent(self, address: str, now: float) -> deque[float]:
        seen = self.failures.setdefault(address, deque())
        while seen and now - seen[0] > self.window:
            seen.popleft()
        return seen

    def wait(self, address: str) -> float:
        """Seconds before this address may try again (0: now)."""
        now = time.monotonic()
        seen = self._recent(address, now)
        if len(seen) < self.limit:
            return 0.0
        return max(1.0, self.window - (now - seen[0]))

    def failed(self, address: str) -> None:
        self._recent(address, time.monotonic()).append(time.monotonic())
        if len(self.failures) > 10_000:  # a flood of addresses cannot grow this without bound
            for key in [k for k, v in self.failures.items() if not v][:5_000]:
                del self.failures[key]
