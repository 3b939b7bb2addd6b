"""Reading corpora, questions and TREC qrels in the spellings public datasets use; every problem names
the file and the line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evalharness.adapters.search.corpus import Document, Question, iter_corpus, load_qrels, load_questions
from evalharness.errors import DataError
from tests.adapters.search.helpers import (
    BUILTIN_CORPUS,
    BUILTIN_QUESTIONS,
    HOTPOT_CORPUS,
    HOTPOT_QUESTIONS,
    read_jsonl,
    write_jsonl,
)

# --- corpus -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("row", "docid", "text"), [
    ({"docid": "d1", "title": "T", "text": "body"}, "d1", "body"),
    ({"doc_id": "d1", "title": "T", "text": "body"}, "d1", "body"),
    ({"id": "d1", "title": "T", "contents": "body"}, "d1", "body"),
    ({"_id": "d1", "title": "T", "content": "body"}, "d1", "body"),
    ({"docid": 7, "title": "T", "body": "body"}, "7", "body"),  # numeric ids become strings
    ({"docid": "", "doc_id": "d1", "title": "T", "text": "body"}, "d1", "body"),  # empty values are skipped
], ids=["docid", "doc_id", "id", "_id-content", "numeric-body", "empty-docid-falls-through"])
def test_corpus_field_spellings(tmp_path: Path, row: dict, docid: str, text: str) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [row])
    assert list(iter_corpus(path)) == [Document(docid, "T", text)]


def test_corpus_title_is_optional(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [{"docid": "a", "text": "x"}, {"docid": "b", "title": None, "text": "y"}])
    assert [d.title for d in iter_corpus(path)] == ["", ""]


def test_corpus_field_mapping(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [
        {"pid": "p1", "name": "First", "passage": "one two", "docid": "ignored", "text": "ignored"},
        {"pid": 2, "name": "Second", "passage": "three"},
    ])
    docs = list(iter_corpus(path, {"docid": "pid", "title": "name", "text": "passage"}))
    assert docs == [Document("p1", "First", "one two"), Document("2", "Second", "three")]


def test_corpus_mapped_field_missing_names_the_mapping(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [{"docid": "a", "text": "x"}])
    with pytest.raises(DataError, match=re.escape(f"{path}:1: no document id (looked for pid)")):
        list(iter_corpus(path, {"docid": "pid"}))
    with pytest.raises(DataError, match=re.escape(f"{path}:1: document a: no text (looked for passage)")):
        list(iter_corpus(path, {"text": "passage"}))


def test_duplicate_docids_name_both_lines(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [
        {"docid": "a", "text": "x"}, "", {"docid": "b", "text": "y"}, {"docid": "a", "text": "z"}])
    with pytest.raises(DataError) as err:
        list(iter_corpus(path))
    assert str(err.value) == f"{path}:4: duplicate document id 'a' (first on line 1)"


@pytest.mark.parametrize(("bad", "message"), [
    ({"docid": "x", "title": "no text here"}, ":3: document x: no text"),
    ({"docid": "x", "text": ""}, ":3: document x: no text"),
    ({"docid": "x", "text": ["a", "list"]}, ":3: document x: no text"),
    ({"title": "T", "text": "orphan"}, ":3: no document id (looked for docid/doc_id/id/_id)"),
    (b'{"docid": "x", "text": "caf\xe9"}', ":3: not UTF-8 (byte 27"),
    ('{"docid": "x", "text": "unterminated}', ":3: not valid JSON"),
    ('["docid", "x"]', ":3: expected a JSON object"),
    ("42", ":3: expected a JSON object"),
], ids=["missing-text", "empty-text", "text-not-string", "missing-docid", "latin-1", "bad-json", "array", "number"])
def test_bad_corpus_lines_are_named(tmp_path: Path, bad: dict | str | bytes, message: str) -> None:
    # line 2 is blank: line numbers count every physical line
    path = write_jsonl(tmp_path / "c.jsonl", [{"docid": "ok", "text": "fine"}, "   ", bad, {"docid": "z", "text": "t"}])
    with pytest.raises(DataError) as err:
        list(iter_corpus(path))
    assert str(err.value).startswith(f"{path}{message}"), str(err.value)


def test_missing_corpus_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl"
    with pytest.raises(DataError, match=re.escape(f"{path}: No such file or directory")):
        list(iter_corpus(path))


def test_builtin_and_real_corpora_load() -> None:
    builtin = list(iter_corpus(BUILTIN_CORPUS))
    assert len(builtin) == 2779 and builtin[0].docid == "fw-00001" and builtin[0].title == "Lael Toske"
    real = list(iter_corpus(HOTPOT_CORPUS))  # doc_id spelling
    assert len(real) == 989 and all(d.docid.startswith("doc_") and d.text for d in real)


# --- questions --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("row", "expected"), [
    ({"id": "q1", "question": "Q?", "answer": "A", "evidence_docids": ["d1", "d2"]},
     Question("q1", "Q?", "A", ("d1", "d2"))),
    ({"query_id": "q1", "query": "Q?", "answers": ["A", "B"], "evidence_doc_ids": ["d1"]},
     Question("q1", "Q?", "A", ("d1",))),
    ({"qid": 3, "text": "Q?", "gold_answer": 1953, "evidence": [5]}, Question("3", "Q?", "1953", ("5",))),
    ({"_id": "q1", "question": "Q?", "answer": "A"}, Question("q1", "Q?", "A", ())),
], ids=["canonical", "beir-style-answers-list", "numbers", "no-evidence"])
def test_question_field_spellings(tmp_path: Path, row: dict, expected: Question) -> None:
    path = write_jsonl(tmp_path / "q.jsonl", [row])
    assert load_questions(path) == [expected]


def test_question_field_mapping(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "q.jsonl", [
        {"qid2": "x", "prompt": "Where?", "gold": ["Paris", "Lyon"], "positives": ["d9"], "question": "ignored"}])
    fields = {"id": "qid2", "question": "prompt", "answer": "gold", "evidence_docids": "positives"}
    assert load_questions(path, fields) == [Question("x", "Where?", "Paris", ("d9",))]


def test_gold_trajectory_is_kept() -> None:
    questions = load_questions(BUILTIN_QUESTIONS)
    assert len(questions) == 72
    first = questions[0]
    assert first.id == "fwq-001" and first.answer == "Kraugak University"
    assert first.evidence == ("fw-00284", "fw-01721", "fw-00770", "fw-01640")
    assert first.gold_trajectory[0] == {"tool": "search", "query": "Zautremen Kemesk studied"}


def test_real_hotpotqa_questions_load() -> None:
    questions = load_questions(HOTPOT_QUESTIONS)
    raw = read_jsonl(HOTPOT_QUESTIONS)
    assert len(questions) == 100
    assert [q.evidence for q in questions] == [tuple(r["evidence_doc_ids"]) for r in raw]
    assert questions[1].answer == "Jeremy Renner"


def test_duplicate_question_ids(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "q.jsonl", [
        {"id": "q1", "question": "a", "answer": "b"}, {"id": "q2", "question": "a", "answer": "b"},
        {"id": "q1", "question": "c", "answer": "d"}])
    with pytest.raises(DataError) as err:
        load_questions(path)
    assert str(err.value) == f"{path}:3: duplicate question id 'q1'"


@pytest.mark.parametrize(("row", "missing"), [
    ({"question": "a", "answer": "b"}, "id"),
    ({"id": "q", "answer": "b"}, "question"),
    ({"id": "q", "question": "a"}, "answer"),
    ({"id": "q", "question": ""}, "question, answer"),
], ids=["id", "question", "answer", "two"])
def test_missing_question_fields(tmp_path: Path, row: dict, missing: str) -> None:
    path = write_jsonl(tmp_path / "q.jsonl", [{"id": "ok", "question": "a", "answer": "b"}, row])
    with pytest.raises(DataError) as err:
        load_questions(path)
    assert str(err.value).startswith(f"{path}:2: missing field(s) {missing} ")
    assert "--field" in str(err.value)


@pytest.mark.parametrize(("rows", "message"), [
    ([{"id": "q", "question": "a", "answer": "b", "evidence_docids": "d1"}], ":1: evidence document ids must be a list"),
    ([{"id": "q", "question": "a", "answer": "b"}, "{oops"], ":2: not valid JSON"),
    ([b"\xff\xfe"], ":1: not UTF-8"),
    (["", "  "], " has no questions"),
], ids=["evidence-not-list", "bad-json", "not-utf8", "empty"])
def test_bad_question_files(tmp_path: Path, rows: list, message: str) -> None:
    path = write_jsonl(tmp_path / "q.jsonl", rows)
    with pytest.raises(DataError) as err:
        load_questions(path)
    assert str(err.value).startswith(f"{path}{message}"), str(err.value)


# --- TREC qrels -------------------------------------------------------------------------------------------


def test_qrels_keep_relevant_documents_only(tmp_path: Path) -> None:
    path = tmp_path / "qrels.txt"
    path.write_text("q1 0 d1 1\nq1 0 d2 0\n\nq2 Q0 d3 2\nq1 0 d4 1\nq3 0 d5 0\nq4 0 d6 -1\n")
    assert load_qrels(path) == {"q1": ["d1", "d4"], "q2": ["d3"]}


@pytest.mark.parametrize(("line", "message"), [
    ("q1 0 d1", "expected 'qid 0 docid relevance', got 'q1 0 d1'"),
    ("q1 0 d1 1 extra", "expected 'qid 0 docid relevance'"),
    ("q1 0 d1 high", "relevance 'high' is not an integer"),
])
def test_bad_qrels_line_names_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "qrels.txt"
    path.write_text(f"q1 0 d0 1\n\n{line}\n")
    with pytest.raises(DataError) as err:
        load_qrels(path)
    assert str(err.value).startswith(f"{path}:3: {message}"), str(err.value)


def test_qrels_replace_the_questions_evidence(tmp_path: Path) -> None:
    questions = write_jsonl(tmp_path / "q.jsonl", [
        {"id": "q1", "question": "a", "answer": "b", "evidence_docids": ["old"]},
        {"id": "q2", "question": "c", "answer": "d", "evidence_docids": ["kept"]}])
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("q1 0 new1 1\nq1 0 not-relevant 0\nq1 0 new2 3\n")
    loaded = load_questions(questions, qrels=load_qrels(qrels))
    assert [q.evidence for q in loaded] == [("new1", "new2"), ("kept",)]
