"""Reading corpora, questions and relevance judgements in the spellings public datasets use.

Corpus JSONL: ``docid`` (or ``doc_id``/``id``/``_id``), optional ``title``, ``text`` (or ``contents``/
``content``/``body``). Questions JSONL: ``id`` (or ``query_id``/``qid``), ``question`` (or ``query``/
``text``), ``answer`` (or ``answers``, first one), optional ``evidence_docids`` (or ``evidence_doc_ids``/
``evidence``). BrowseComp-Plus qrels are TREC files (``qid 0 docid relevance``). Every problem names the
file and the line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalharness.datasets import iter_jsonl
from evalharness.errors import DataError

DOCID_KEYS = ("docid", "doc_id", "id", "_id")
TEXT_KEYS = ("text", "contents", "content", "body")
QID_KEYS = ("id", "query_id", "qid", "_id")
QUESTION_KEYS = ("question", "query", "text")
ANSWER_KEYS = ("answer", "answers", "gold_answer")
EVIDENCE_KEYS = ("evidence_docids", "evidence_doc_ids", "evidence")


@dataclass(frozen=True, slots=True)
class Document:
    docid: str
    title: str
    text: str


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answer: str
    evidence: tuple[str, ...] = ()
    gold_trajectory: tuple[dict[str, Any], ...] = field(default=())


def _pick(obj: dict[str, Any], keys: tuple[str, ...], mapped: str | None) -> Any:
    if mapped is not None:
        return obj.get(mapped)
    for key in keys:
        if obj.get(key) not in (None, ""):
            return obj[key]
    return None


def iter_corpus(path: Path, fields: dict[str, str] | None = None) -> Iterator[Document]:
    fields = fields or {}
    seen: dict[str, int] = {}
    for number, obj in iter_jsonl(path):
        docid = _pick(obj, DOCID_KEYS, fields.get("docid"))
        text = _pick(obj, TEXT_KEYS, fields.get("text"))
        if docid is None:
            raise DataError(f"{path}:{number}: no document id (looked for {fields.get('docid') or '/'.join(DOCID_KEYS)})")
        if not isinstance(text, str):
            raise DataError(f"{path}:{number}: document {docid}: no text (looked for "
                            f"{fields.get('text') or '/'.join(TEXT_KEYS)})")
        docid = str(docid)
        if docid in seen:
            raise DataError(f"{path}:{number}: duplicate document id {docid!r} (first on line {seen[docid]})")
        seen[docid] = number
        title = _pick(obj, ("title",), fields.get("title")) or ""
        yield Document(docid, str(title), text)


def load_questions(path: Path, fields: dict[str, str] | None = None,
                   qrels: dict[str, list[str]] | None = None) -> list[Question]:
    fields = fields or {}
    questions = []
    seen: set[str] = set()
    for number, obj in iter_jsonl(path):
        qid = _pick(obj, QID_KEYS, fields.get("id"))
        text = _pick(obj, QUESTION_KEYS, fields.get("question"))
        answer = _pick(obj, ANSWER_KEYS, fields.get("answer"))
        if qid is None or text is None or answer is None:
            missing = [n for n, v in (("id", qid), ("question", text), ("answer", answer)) if v is None]
            raise DataError(f"{path}:{number}: missing field(s) {', '.join(missing)} "
                            "(map other names with --field, e.g. --field question=query)")
        if isinstance(answer, list):
            answer = answer[0] if answer else ""
        qid = str(qid)
        if qid in seen:
            raise DataError(f"{path}:{number}: duplicate question id {qid!r}")
        seen.add(qid)
        evidence = _pick(obj, EVIDENCE_KEYS, fields.get("evidence_docids")) or []
        if qrels is not None and qid in qrels:
            evidence = qrels[qid]
        if not isinstance(evidence, list):
            raise DataError(f"{path}:{number}: evidence document ids must be a list")
        trajectory = obj.get("gold_trajectory") or []
        questions.append(Question(qid, str(text), str(answer), tuple(map(str, evidence)), tuple(trajectory)))
    if not questions:
        raise DataError(f"{path} has no questions")
    return questions


def load_qrels(path: Path) -> dict[str, list[str]]:
    """TREC qrels (``qid iteration docid relevance``): relevant (relevance > 0) docids per query."""
    out: dict[str, list[str]] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise DataError(f"{path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8") from None
    for number, line in enumerate(lines, start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4:
            raise DataError(f"{path}:{number}: expected 'qid 0 docid relevance', got {line!r}")
        qid, _, docid, relevance = parts
        try:
            relevant = int(relevance) > 0
        except ValueError:
            raise DataError(f"{path}:{number}: relevance {relevance!r} is not an integer") from None
        if relevant:
            out.setdefault(qid, []).append(docid)
    return out
