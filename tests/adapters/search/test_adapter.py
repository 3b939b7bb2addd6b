"""The search task end to end, as a user runs it: the real CLI in a subprocess, the run store, and a real
OpenAI-compatible HTTP server whose policy plays the model (and the judge)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from evalharness.adapters.search.grading import normalize_answer
from evalharness.adapters.search.index import open_or_build
from evalharness.report.aggregate import condition_deltas
from evalharness.store import load_run
from evalharness.types import SampleResult
from tests.adapters.search.helpers import (
    BUILTIN_QUESTIONS,
    HOTPOT_CORPUS,
    HOTPOT_QUESTIONS,
    error_lines,
    flat,
    read_jsonl,
    run_dirs,
    write_jsonl,
)
from tests.support.cli import evalharness
from tests.support.openai_server import ScriptedOpenAIServer

BUILTIN_QS = read_jsonl(BUILTIN_QUESTIONS)
HOTPOT_QS = read_jsonl(HOTPOT_QUESTIONS)
QUESTION_LINE = re.compile(r"^Question: (.*)$", re.MULTILINE)


def results_of(out: Path) -> list[SampleResult]:
    [run_dir] = run_dirs(out)
    return load_run(run_dir).results


def by_domain(results: list[SampleResult], domain: str) -> dict[str, SampleResult]:
    return {r.sample_id: r for r in results if r.domain == domain}


# --- scripted gold trajectories on the built-in world ------------------------------------------------------


def test_gold_open_book_vs_closed_book_suite(tmp_path: Path) -> None:
    suite = tmp_path / "both.yaml"
    suite.write_text("name: both\ndescription: search both ways\ntasks:\n  - task: search\n"
                     "  - task: search\n    name: search-closed\n    options:\n      condition: closed-book\n")
    proc = evalharness("run", "--model", "scripted:gold", "--suite", str(suite), "--out", str(tmp_path / "runs"),
                       "--no-progress")
    assert proc.returncode == 0, proc.stderr
    stdout = flat(proc.stdout)
    assert "search: open-book minus closed-book +1.000 ± 0.000 (paired, n=72)" in stdout, proc.stdout
    assert "evidence_recall 1.000" in stdout
    results = results_of(tmp_path / "runs")
    opened, closed = by_domain(results, "search"), by_domain(results, "search:closed-book")
    assert sorted(opened) == sorted(closed) == sorted(q["id"] for q in BUILTIN_QS)
    for r in opened.values():
        assert r.error is None
        accuracy, recall = r.scores
        assert (accuracy.name, accuracy.value, recall.name, recall.value) == ("accuracy", 1.0, "evidence_recall", 1.0)
        assert accuracy.details["method"] == "exact_match" and accuracy.details["confidence"] == 1.0
        assert accuracy.details["get_document_calls"] == len(accuracy.details["evidence_found"])
    for r in closed.values():
        assert r.error is None and r.episode.tool_log == []
        [accuracy] = r.scores  # closed-book: no evidence recall
        assert accuracy.value == 0.0 and accuracy.details["condition"] == "closed-book"
    [delta] = condition_deltas(results)
    assert delta.domain == "search" and delta.delta.n == 72
    assert delta.delta.mean == pytest.approx(1.0) and delta.delta.se == pytest.approx(0.0)


def test_closed_book_flag_builds_no_index(tmp_path: Path, cache_root: Path) -> None:
    proc = evalharness("run", "--model", "scripted:gold", "--task", "search", "--condition", "closed-book",
                       "--out", str(tmp_path / "runs"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    results = results_of(tmp_path / "runs")
    assert len(results) == 72 and all(r.score == 0.0 and r.domain == "search:closed-book" for r in results)
    assert not (cache_root / "indexes").exists()
    assert "open-book minus closed-book" not in proc.stdout  # one condition only: no difference to show


def test_wrong_answers_score_zero_but_evidence_is_still_found(tmp_path: Path) -> None:
    proc = evalharness("run", "--model", "scripted:wrong", "--task", "search", "--limit", "10",
                       "--out", str(tmp_path / "runs"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    results = results_of(tmp_path / "runs")
    assert len(results) == 10
    assert all(r.scores[0].value == 0.0 and r.scores[1].value == 1.0 for r in results)


# --- real HotpotQA through --corpus/--questions, a policy playing the model --------------------------------

NUMBER_WORDS = {"15": "fifteen", "five months": "5 months", "44": "44"}


def surface_form(answer: str, i: int) -> str:
    """The gold answer as a model might write it: six forms in turn, all equal after normalisation."""
    forms = [
        f"Exact Answer: {answer.upper()}",
        f"Exact Answer: **{answer.lower()}**.",
        f"Exact Answer: the {answer.replace('–', '-')}",
        f"Exact Answer:   {'  '.join(answer.split())}  ",
        f"After reading the document, the answer is {answer}.",
        f"Exact Answer: {NUMBER_WORDS.get(answer, answer)}",
    ]
    return forms[i % len(forms)]


class HotpotAgent:
    """Searches for the question, reads the top document, then answers (rightly or wrongly) with a
    stated confidence."""

    def __init__(self, right: bool, confidence: int = 80) -> None:
        self.right = right
        self.confidence = confidence
        self.index = {q["question"].strip(): i for i, q in enumerate(HOTPOT_QS)}

    def wrong_answer(self, i: int) -> str:
        gold = normalize_answer(HOTPOT_QS[i]["answer"])
        return next(q["answer"] for q in HOTPOT_QS[i + 1:] + HOTPOT_QS[:i] if normalize_answer(q["answer"]) != gold)

    def policy(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body["messages"]
        user = next(m["content"] for m in messages if m["role"] == "user")
        question = QUESTION_LINE.search(user).group(1).strip()  # type: ignore[union-attr]
        i = self.index[question]
        last = messages[-1]
        if last["role"] == "user":
            return tool_call("search", {"query": question}, "call_s")
        if last["role"] == "tool" and last["tool_call_id"] == "call_s":
            m = re.search(r"^\[1\] docid: (\S+) \|", last["content"], re.MULTILINE)
            assert m, last["content"]
            return tool_call("get_document", {"docid": m.group(1)}, "call_g")
        answer = surface_form(HOTPOT_QS[i]["answer"], i) if self.right else f"Exact Answer: {self.wrong_answer(i)}"
        return {"role": "assistant", "content": f"Explanation: read it.\n{answer}\nConfidence: {self.confidence}%"}


def tool_call(name: str, arguments: dict[str, Any], call_id: str) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}]}


def run_hotpot(server: ScriptedOpenAIServer, out: Path, *extra: str) -> Any:
    return evalharness("run", "--model", "openai:agent", "--base-url", server.base_url, "--api-key", "x",
                       "--task", "search", "--corpus", str(HOTPOT_CORPUS), "--questions", str(HOTPOT_QUESTIONS),
                       "--out", str(out), "--no-progress", *extra)


def test_hotpotqa_right_answers_in_varied_forms(tmp_path: Path, cache_root: Path) -> None:
    with ScriptedOpenAIServer(policy=HotpotAgent(right=True).policy) as server:
        proc = run_hotpot(server, tmp_path / "runs")
        assert proc.returncode == 0, proc.stderr
        assert server.log.chat_requests == 300  # search, read, answer: for each of the 100 questions
    results = results_of(tmp_path / "runs")
    assert len(results) == 100 and all(r.error is None for r in results)
    assert all(r.scores[0].value == 1.0 for r in results), [
        (r.sample_id, r.scores[0].details["extracted"]) for r in results if r.scores[0].value != 1.0]
    assert all(r.scores[0].details["search_calls"] == r.scores[0].details["get_document_calls"] == 1 for r in results)
    assert all(r.scores[0].details["confidence"] == 0.8 for r in results)
    stdout = flat(proc.stdout)
    assert re.search(r"search\W+1\.000 ± 0\.000\W+\[0\.963, 1\.000\]\W+100\W", stdout), proc.stdout
    # calibration needs at least 100 stated confidences: here 100, all 80% and all right
    assert "search: evidence_recall" in stdout and "calibration error (ECE) 0.200" in stdout, proc.stdout
    # evidence recall: what the model saw (the five results, the document read) against the evidence
    index = open_or_build(HOTPOT_CORPUS, root=cache_root).index
    questions = {q["id"]: q for q in HOTPOT_QS}
    recalls = []
    for r in results:
        q = questions[r.sample_id]
        seen = {h.docid for h in index.search(q["question"], 5)}
        evidence = set(q["evidence_doc_ids"])
        assert r.scores[1].value == pytest.approx(len(evidence & seen) / len(evidence))
        recalls.append(r.scores[1].value)
    # measured: 0.785 (59 questions with both evidence paragraphs in the top 5, 39 with one)
    assert sum(recalls) / len(recalls) >= 0.7


def test_hotpotqa_wrong_answers(tmp_path: Path) -> None:
    with ScriptedOpenAIServer(policy=HotpotAgent(right=False).policy) as server:
        proc = run_hotpot(server, tmp_path / "runs", "--limit", "99")
        assert proc.returncode == 0, proc.stderr
    results = results_of(tmp_path / "runs")
    assert len(results) == 99 and all(r.error is None and r.scores[0].value == 0.0 for r in results)
    assert all(r.scores[0].details["confidence"] == 0.8 for r in results)
    assert re.search(r"search\W+0\.000 ± 0\.000\W+\[0\.000, 0\.037\]\W+99\W", flat(proc.stdout)), proc.stdout
    assert "calibration error" not in proc.stdout  # 99 stated confidences: fewer than 100, no ECE


# --- the LLM judge ----------------------------------------------------------------------------------------


class JudgedAgent:
    """Closed-book answers of three kinds, graded by a judge on the same server:
    case 0: the exact gold answer, which the judge rejects (the judge's verdict wins);
    case 1: a paraphrase exact match rejects, which the judge accepts;
    case 2: the exact gold answer, and a judge reply with no verdict (exact match decides)."""

    def __init__(self) -> None:
        self.index = {q["question"].strip(): i for i, q in enumerate(BUILTIN_QS)}

    def policy(self, body: dict[str, Any]) -> dict[str, Any]:
        prompt = body["messages"][0]["content"]
        if body["model"] == "judge":
            case = int(re.search(r"Explanation: case-(\d)", prompt).group(1))  # type: ignore[union-attr]
            reply = ["extracted_final_answer: x\nreasoning: differs\ncorrect: no\nconfidence: 30%",
                     "**extracted_final_answer:** x\n**reasoning:** same\n**Correct:** Yes\n**confidence:** 65%",
                     "I would rather not grade this."][case]
            return {"role": "assistant", "content": reply}
        assert body["model"] == "agent" and "tools" not in body  # closed-book: no tools offered
        i = self.index[QUESTION_LINE.search(body["messages"][-1]["content"]).group(1).strip()]  # type: ignore[union-attr]
        gold = BUILTIN_QS[i]["answer"]
        answer = f"roughly {gold}, I believe" if i % 3 == 1 else gold
        return {"role": "assistant", "content": f"Explanation: case-{i % 3}\nExact Answer: {answer}\nConfidence: 40%"}


def test_judge_verdict_is_used(tmp_path: Path, cache_root: Path) -> None:
    def judge_requests() -> int:
        return sum(1 for b in server.log.bodies if b["model"] == "judge")

    with ScriptedOpenAIServer(policy=JudgedAgent().policy) as server:
        args = ["run", "--model", "openai:agent", "--judge-model", "openai:judge", "--base-url", server.base_url,
                "--api-key", "x", "--task", "search", "--condition", "closed-book", "--limit", "6", "--no-progress"]
        proc = evalharness(*args, "--out", str(tmp_path / "first"))
        assert proc.returncode == 0, proc.stderr
        assert judge_requests() == 6
        again = evalharness(*args, "--out", str(tmp_path / "second"))
        assert again.returncode == 0, again.stderr
        assert judge_requests() == 6 + 2  # only the two unreadable verdicts are asked again
    assert (cache_root / "judge-verdicts.sqlite").exists()
    index = {q["id"]: i for i, q in enumerate(BUILTIN_QS)}
    for out in ("first", "second"):
        results = results_of(tmp_path / out)
        assert len(results) == 6
        for r in results:
            details = r.scores[0].details
            case = index[r.sample_id] % 3
            if case == 0:
                assert (r.scores[0].value, details["method"], details["exact_match"]) == (0.0, "judge", True)
                assert details["judge_correct"] is False and details["confidence"] == pytest.approx(0.3)
            elif case == 1:
                assert (r.scores[0].value, details["method"], details["exact_match"]) == (1.0, "judge", False)
                assert details["judge_correct"] is True and details["confidence"] == pytest.approx(0.65)
            else:
                assert (r.scores[0].value, details["method"], details["exact_match"]) == (1.0, "exact_match", True)
                assert details["judge_correct"] is None and "judge_unparseable" in details
                assert details["confidence"] == pytest.approx(0.4)  # the response's own


# --- bad input --------------------------------------------------------------------------------------------


def test_duplicate_docids_in_the_corpus(tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "dup.jsonl", [{"docid": "a", "text": "x"}, {"docid": "b", "text": "y"},
                                                  {"docid": "a", "text": "z"}])
    proc = evalharness("run", "--model", "scripted:gold", "--task", "search", "--corpus", str(corpus),
                       "--out", str(tmp_path / "runs"), "--no-progress")
    assert proc.returncode == 2, proc.stderr
    [line] = error_lines(proc)
    assert line == f"error: {corpus}:3: duplicate document id 'a' (first on line 1)"
    assert "Traceback" not in proc.stderr + proc.stdout
    built = evalharness("index", "build", "--corpus", str(corpus))
    assert built.returncode == 2
    assert built.stderr.strip().splitlines() == [f"error: {corpus}:3: duplicate document id 'a' (first on line 1)"]


@pytest.mark.parametrize("problem", ["missing", "bad-json", "missing-field", "qrels"])
def test_bad_questions_fail_before_the_run(tmp_path: Path, problem: str) -> None:
    questions = tmp_path / "questions.jsonl"
    extra: list[str] = []
    if problem == "missing":
        expected = f"error: {questions}: No such file or directory"
    elif problem == "bad-json":
        write_jsonl(questions, [{"id": "q1", "question": "a", "answer": "b"}, '{"id": "q2",'])
        expected = f"error: {questions}:2: not valid JSON"
    elif problem == "missing-field":
        write_jsonl(questions, [{"id": "q1", "question": "a", "answer": "b"}, "", {"id": "q2", "query": "c"}])
        expected = f"error: {questions}:3: missing field(s) answer"
    else:
        write_jsonl(questions, [{"id": "q1", "question": "a", "answer": "b"}])
        qrels = tmp_path / "qrels.txt"
        qrels.write_text("q1 0 d1 1\nq1 0 d2\n")
        extra = ["--qrels", str(qrels)]
        expected = f"error: {qrels}:2: expected 'qid 0 docid relevance'"
    proc = evalharness("run", "--model", "scripted:gold", "--task", "search", "--questions", str(questions), *extra,
                       "--out", str(tmp_path / "runs"), "--no-progress")
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(expected), proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert run_dirs(tmp_path / "runs") == []  # nothing is created for a run that cannot start


# --- `evalharness index build` ----------------------------------------------------------------------------


def test_index_build_command(cache_root: Path) -> None:
    first = evalharness("index", "build", "--corpus", str(HOTPOT_CORPUS))
    assert first.returncode == 0, first.stderr
    out = flat(first.stdout)
    assert re.search(rf"index of {re.escape(str(HOTPOT_CORPUS))}: 989 documents, [\d.]+ MB, built in [\d.]+s", out), out
    [path] = (cache_root / "indexes").iterdir()
    assert f"path: {path}" in out
    second = evalharness("index", "build", "--corpus", str(HOTPOT_CORPUS))
    assert second.returncode == 0, second.stderr
    assert "989 documents" in flat(second.stdout) and "found in the cache" in flat(second.stdout), second.stdout
    forced = evalharness("index", "build", "--corpus", str(HOTPOT_CORPUS), "--rebuild")
    assert forced.returncode == 0 and "built in" in flat(forced.stdout) and "found in the cache" not in forced.stdout
    assert list((cache_root / "indexes").iterdir()) == [path]
    # without --corpus: the built-in corpus
    default = evalharness("index", "build")
    assert default.returncode == 0 and "2,779 documents" in flat(default.stdout), default.stdout
    bad = evalharness("index", "build", "--corpus", str(HOTPOT_CORPUS), "--field", "docid")
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "error: --field 'docid' is not of the form TASK_FIELD=DATA_FIELD"]
