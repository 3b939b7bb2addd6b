"""``--opt retrieval=...`` through the real command: the agent gets the configuration's policy and tools, the
summary names the configuration, and an unknown name stops the run before any sample."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.adapters.tau.knowledge.support import knowledge_domain
from tests.adapters.tau.test_evaluator import evalharness, is_user_request, run_results
from tests.support.openai_server import ScriptedOpenAIServer


def searching_agent(body: dict[str, Any]) -> dict[str, Any]:
    """The user asks once and then stops; the agent searches the knowledge base once, then answers."""
    messages = body["messages"]
    if is_user_request(body):
        spoke = any(m["role"] == "assistant" for m in messages)
        return {"role": "assistant", "content": "###STOP###" if spoke else "What is the late fee?"}
    if messages[-1]["role"] == "tool":
        return {"role": "assistant", "content": "The late fee is 30 dollars."}
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_kb", "type": "function", "function": {"name": "KB_search",
                                                           "arguments": json.dumps({"query": "late fee"})}}]}


def run(tmp_path: Path, server: ScriptedOpenAIServer, domain: Path, *options: str) -> Any:
    opts = [arg for option in options for arg in ("--opt", option)]
    return evalharness(tmp_path, "run", "--model", "openai:m", "--base-url", server.base_url, "--task", "tau",
                       "--domain-dir", str(domain), *opts, "--out", str(tmp_path / "runs"), "--no-progress",
                       "--no-report")


def agent_requests(server: ScriptedOpenAIServer) -> list[dict[str, Any]]:
    return [b for b in server.log.bodies if not is_user_request(b)]


def test_bm25_gives_the_agent_kb_search_first_and_its_policy(tmp_path: Path) -> None:
    domain = knowledge_domain(tmp_path)
    with ScriptedOpenAIServer(searching_agent) as server:
        proc = run(tmp_path, server, domain)  # bm25 is the default
    assert proc.returncode == 0, proc.stderr
    first, second = agent_requests(server)
    names = [t["function"]["name"] for t in first["tools"]]
    assert names[0] == "KB_search" and names.count("KB_search") == 1 and len(names) > 1
    assert "# Test bank policy\n\nHelp the customer.\n\nSearch with `KB_search`.\n" in first["messages"][0]["content"]
    [tool_message] = [m for m in second["messages"] if m["role"] == "tool"]
    assert tool_message["content"].startswith("1. Card fees\n   ID: doc_fees\n")
    [result] = run_results(tmp_path / "runs")
    assert result["domain"] == "tau/bikeshop"  # the default configuration: the domain's plain name
    assert result["scores"][0]["details"]["retrieval"]["name"] == "bm25"


def test_golden_retrieval_inlines_the_tasks_documents_and_adds_no_tools(tmp_path: Path) -> None:
    domain = knowledge_domain(tmp_path, required=["Lounge access"])
    with ScriptedOpenAIServer(searching_agent) as server:
        proc = run(tmp_path, server, domain, "retrieval=golden_retrieval")
    assert proc.returncode == 0, proc.stderr
    first = agent_requests(server)[0]
    assert "<docs>\n## Lounge access\n\nLounge visits: four a year." in first["messages"][0]["content"]
    assert not {"KB_search", "grep", "shell"} & {t["function"]["name"] for t in first["tools"]}
    assert "tau/bikeshop/golden_retrieval" in proc.stdout


def test_unknown_retrieval_is_one_line_and_exit_2_before_any_sample(tmp_path: Path) -> None:
    domain = knowledge_domain(tmp_path)
    with ScriptedOpenAIServer(searching_agent) as server:
        proc = run(tmp_path, server, domain, "retrieval=bm52")
    assert proc.returncode == 2
    error_lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(error_lines) == 1 and "bm52" in error_lines[0]
    assert "bm25" in error_lines[0] and "golden_retrieval" in error_lines[0] and "grep_only" in error_lines[0]
    assert "Traceback" not in proc.stderr and server.log.chat_requests == 0


def test_the_summary_and_report_name_the_retrieval_configuration(tmp_path: Path) -> None:
    # the default configuration keeps the domain's plain name: the configuration is still told, apart
    domain = knowledge_domain(tmp_path)
    with ScriptedOpenAIServer(searching_agent) as server:
        proc = evalharness(tmp_path, "run", "--model", "openai:m", "--base-url", server.base_url, "--task", "tau",
                           "--domain-dir", str(domain), "--out", str(tmp_path / "runs"), "--no-progress",
                           "--report", str(tmp_path / "report.html"))
    assert proc.returncode == 0, proc.stderr
    said = " ".join(proc.stdout.split())
    assert "tau/bikeshop: retrieval configuration bm25" in said
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "retrieval configuration bm25" in html
