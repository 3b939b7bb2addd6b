"""Final answers of math problems: extract them from a model's last message and check them against gold.

Extraction reads only the final message (an answer stated earlier and then abandoned must not count):
the last ``\\boxed{...}`` first, then a clear "the answer is ..." statement. Verification compares
integers exactly (so "025" equals "25"), and everything else symbolically with ``math-verify``, gold
first. math-verify bounds its work with SIGALRM, which only works on the main thread; elsewhere its
timeouts are disabled rather than crashing.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_ANSWER_IS = re.compile(
    r"(?:final\s+answer|answer)\s*(?:is|=|:)\s*:?\s*(?P<answer>[^\n]+)", re.IGNORECASE
)
_INTEGER = re.compile(r"^[+-]?\d+$")
VERIFY_TIMEOUT_SECONDS = 5


@dataclass(frozen=True, slots=True)
class Extraction:
    answer: str | None
    method: str  # boxed | answer_is | none


def _boxed_contents(text: str) -> list[str]:
    """Contents of every \\boxed{...}, with nested braces balanced."""
    found = []
    for match in _BOXED.finditer(text):
        depth, start = 1, match.end()
        for i in range(start, len(text)):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    found.append(text[start:i].strip())
                    break
    return found


_LATEX_SPACE = re.compile(r"\\[ ,;:!]|~|\\q?quad\b")
_REASON = re.compile(r"\s+(?:because|since|as|so|which)\b.*$|[,;]\s.*$", re.IGNORECASE)
_UNIT = re.compile(r"\\(?:text|mbox|textrm|mathrm)\{\s*([^{}]*)\}")


def _clean_stated(answer: str) -> str:
    answer = answer.strip().strip(" $")
    answer = _REASON.sub("", answer)  # "25 because ..." states 25
    answer = re.sub(r"[.。]\s*$", "", answer).strip(" $")
    return answer


def extract_final_answer(text: str | None) -> Extraction:
    text = _LATEX_SPACE.sub(" ", (text or "").replace("**", "").replace("__", ""))
    boxed = [b for b in _boxed_contents(text) if b]
    if boxed:
        return Extraction(boxed[-1], "boxed")
    stated = [_clean_stated(m.group("answer")) for m in _ANSWER_IS.finditer(text)]
    stated = [s for s in stated if s]
    if stated:
        return Extraction(stated[-1], "answer_is")
    return Extraction(None, "none")


def _as_integer(text: str) -> int | None:
    """The integer an answer states, units and LaTeX spacing aside ("204 \\text{ minutes}" is 204)."""
    text = _UNIT.sub(lambda m: m.group(1), _LATEX_SPACE.sub(" ", text)).strip().strip("$")
    words = text.split()
    if words and len(words) <= 3 and all(w.isalpha() for w in words[1:]):  # a number and its unit
        text = words[0]
    compact = re.sub(r"[\s,]", "", text)
    return int(compact) if _INTEGER.match(compact) else None


def answers_match(gold: str, answer: str) -> bool:
    """True when ``answer`` equals ``gold``: as integers when both are integers, else symbolically."""
    gold_int, answer_int = _as_integer(str(gold)), _as_integer(answer)
    if gold_int is not None and answer_int is not None:
        return gold_int == answer_int
    from math_verify import parse, verify

    main = threading.current_thread() is threading.main_thread()
    timeout = VERIFY_TIMEOUT_SECONDS if main else None
    parsing_timeout = VERIFY_TIMEOUT_SECONDS if main else None
    gold_parsed = parse(f"${gold}$", parsing_timeout=parsing_timeout)  # type: ignore[arg-type]
    answer_parsed = parse(f"\\boxed{{{answer}}}", parsing_timeout=parsing_timeout)  # type: ignore[arg-type]
    if not gold_parsed or not answer_parsed:
        return False
    return bool(verify(gold_parsed, answer_parsed, timeout_seconds=timeout))
