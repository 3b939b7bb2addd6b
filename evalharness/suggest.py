"""The "did you mean" of error messages about a name the user typed (a task, an option, a command...)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the known name closest to ``word``, or ``""`` when none is close: a
    suggestion that is not a plausible typo would send the user the wrong way."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""
