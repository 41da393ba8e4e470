"""Regular expressions that users type (``qda search --mode regex``, codebook ``regex``
patterns, the workspace's search box), run with a time limit.

Python's ``re`` can backtrack for hours on a pattern such as ``(a|a){30}c`` and holds the
interpreter lock meanwhile, so one search froze ``qda serve`` for everyone. The ``regex``
module accepts the same syntax, gives up after a timeout, and releases the lock while it
matches (``concurrent=True``), so other requests are answered during a long search.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import regex

DEFAULT_SECONDS = 5.0


def time_limit() -> float:
    """Seconds one user pattern may spend on a whole search (``QDA_REGEX_TIMEOUT``, default 5)."""
    try:
        return max(0.01, float(os.environ.get("QDA_REGEX_TIMEOUT", DEFAULT_SECONDS)))
    except ValueError:
        return DEFAULT_SECONDS


class RegexTimeout(TimeoutError):
    """A user's regular expression ran past the time limit (it backtracks too much).

    Not a QdaError (this module sits below qda.errors): each caller turns it into the
    QdaError of its own layer, keeping the message.
    """


def compile_user(pattern: str) -> Any:
    """``pattern`` compiled case-insensitively (raises ``regex.error`` when it is not valid)."""
    return regex.compile(pattern, regex.IGNORECASE | regex.VERSION0)


def spans(compiled: Any, texts: Iterator[str] | list[str], what: str, *, seconds: float | None = None
          ) -> Iterator[list[tuple[int, int]]]:
    """For each text, the non-empty matches of ``compiled``; all texts share one time budget.

    Raises :class:`RegexTimeout` naming ``what`` (the pattern and where it comes from) once
    the budget is spent.
    """
    budget = time_limit() if seconds is None else seconds
    deadline = time.monotonic() + budget
    for text in texts:
        left = deadline - time.monotonic()
        try:
            if left <= 0:
                raise TimeoutError
            yield [(m.start(), m.end()) for m in compiled.finditer(text, timeout=left, concurrent=True)
                   if m.end() > m.start()]
        except TimeoutError:
            raise RegexTimeout(f"{what} took more than {budget:g} s and was stopped: it backtracks too much "
                               "(nested or overlapping repeats such as (a|a)* or (.*)*); write it more simply, "
                               "or set QDA_REGEX_TIMEOUT to allow longer") from None
