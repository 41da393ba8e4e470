"""The suggester's training settings as a person types them: ``KEY=VALUE`` words (``qda
suggest train --param C=2 --param max_negatives=40000``) read into the typed parameters
:func:`qda.suggest.learn.check_params` takes.

Each value takes the type of its default in :data:`qda.suggest.learn.DEFAULTS`, so that
``C=1`` and no ``C`` at all give the same parameters, and therefore the same model id (the id
hashes them). Every bad word is reported at once, each naming the setting and what it takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qda.errors import Problem, SuggestError
from qda.suggest.corpus import ENGLISH_TERMS
from qda.suggest.learn import DEFAULTS, LOSSES, THRESHOLD_RULES

TRUE = ("true", "yes", "on", "1")
FALSE = ("false", "no", "off", "0")

#: The smallest value each whole-number setting takes (fewer than 2 folds is no cross-validation).
LEAST = {"folds": 2, "inner_folds": 2, "min_df": 1, "min_positives": 1, "max_negatives": 1, "inner_max_negatives": 1,
         "inner_per_positive": 1, "threshold_prior": 1}

#: Settings whose value is one word of a closed set.
WORDS: dict[str, tuple[str, ...]] = {"threshold": THRESHOLD_RULES, "loss": LOSSES, "english_terms": ENGLISH_TERMS}


def allowed(key: str) -> str:
    """What ``key`` takes, in words (for messages and ``--help``)."""
    default = DEFAULTS[key]
    if key in WORDS:
        return f"one of {', '.join(WORDS[key])}"
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return f"a whole number ≥ {LEAST.get(key, 0)}"
    if isinstance(default, float):
        return "a number > 0, or several separated by commas (each tried on the inner folds)" if key == "C" \
            else "a number"
    return "text"


def _value(key: str, raw: str) -> Any:
    """``raw`` as the type of ``key``'s default; ValueError saying what it takes."""
    default = DEFAULTS[key]
    word = raw.strip()
    if key in WORDS:
        if word not in WORDS[key]:
            raise ValueError
        return word
    if isinstance(default, bool):
        if word.lower() in TRUE:
            return True
        if word.lower() in FALSE:
            return False
        raise ValueError
    if isinstance(default, int):
        number = int(word)
        if number < LEAST.get(key, 0):
            raise ValueError
        return number
    if isinstance(default, float):
        numbers = [float(part) for part in word.split(",")]
        if not numbers or any(not n > 0 or n == float("inf") for n in numbers) or (len(numbers) > 1 and key != "C"):
            raise ValueError
        return numbers[0] if len(numbers) == 1 else numbers
    return word


def parse_params(items: Sequence[str]) -> dict[str, Any]:
    """``["C=2", "chars=false"]`` -> ``{"C": 2.0, "chars": False}``; a SuggestError listing every
    word that is not ``KEY=VALUE`` of a known setting with a value it takes."""
    found: dict[str, Any] = {}
    seen: set[str] = set()
    problems: list[Problem] = []
    for item in items:
        key, sign, raw = item.partition("=")
        key = key.strip()
        where = f"--param {item}"
        if not sign or not key:
            problems.append(Problem(where, "not KEY=VALUE", "e.g. --param C=2"))
        elif key not in DEFAULTS:
            problems.append(Problem(where, f"unknown setting '{key}'", f"known: {', '.join(DEFAULTS)}"))
        elif key in seen:
            problems.append(Problem(where, f"'{key}' is given twice"))
        else:
            seen.add(key)
            try:
                found[key] = _value(key, raw)
            except ValueError:
                problems.append(Problem(where, f"'{raw.strip()}' is not a value of {key}",
                                        f"{key} takes {allowed(key)}"))
    if problems:
        raise SuggestError(f"{len(problems)} setting(s) of the suggester cannot be used; nothing was trained",
                           problems)
    return found

