"""The open-ended tasks: prompt files, domains, unscored results that the summary shows cleanly."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from evalharness.adapters import get_adapter_class
from evalharness.arena.tasks import load_prompts
from evalharness.errors import DataError
from evalharness.report.aggregate import summarize_by_domain
from evalharness.store import load_run
from tests.support.cli import evalharness
from tests.test_cli import assert_one_line_error


def only_run(out: Path) -> Path:
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return run


def test_builtin_prompt_sets_load_with_their_domains() -> None:
    chat = get_adapter_class("arena-chat")(get_adapter_class("arena-chat").Options()).load_samples()
    search = get_adapter_class("arena-search")(get_adapter_class("arena-search").Options()).load_samples()
    assert {s.domain for s in chat} == {"arena/chat", "arena/writing"} and len(chat) >= 12
    assert {s.domain for s in search} == {"arena/search"} and len(search) >= 10
    assert len({s.id for s in chat + search}) == len(chat) + len(search)


def test_a_user_prompt_file_without_categories_takes_the_domain_option(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": 1, "prompt": "Say hi."}\n\n{"id": "two", "prompt": "Say bye."}\n')
    cls = get_adapter_class("arena-chat")
    samples = cls(cls.Options(prompts=str(path), domain="arena/greetings")).load_samples()
    assert [(s.id, s.domain, s.input) for s in samples] == [("1", "arena/greetings", "Say hi."),
                                                          ("two", "arena/greetings", "Say bye.")]


@pytest.mark.parametrize(("text", "fragment"), [
    ('{"id": "a", "prompt": "x"}\n{"id": "b"}\n', "p.jsonl:2: field 'prompt'"),
    ('{"prompt": "x"}\n', "p.jsonl:1: field 'id'"),
    ('{"id": "a", "prompt": "x"}\n{"id": "a", "prompt": "y"}\n', "p.jsonl:2: duplicate id 'a' (first on line 1)"),
    ('{"id": "a", "prompt": "x", "category": "Bad Name"}\n', "p.jsonl:1: field 'category'"),
    ('{"id": "a", "prompt": "x", "docids": "fw-1"}\n', "p.jsonl:1: field 'docids'"),
    ('{"id": "a", "prompt": "x"\n', "p.jsonl:1: not valid JSON"),
    ('["a"]\n', "p.jsonl:1: expected a JSON object"),
    ("\n", "has no prompts"),
])
def test_malformed_prompt_lines_name_file_line_and_field(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(text)
    with pytest.raises(DataError, match=None) as e:
        load_prompts(path)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_a_malformed_prompt_file_is_one_line_and_exit_2_from_the_command(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "a", "prompt": "x"}\n{"id": "b", "prompt": 3}\n')
    proc = evalharness("run", "--task", "arena-chat", "--model", "scripted:gold", "--opt", f"prompts={path}",
                       "--out", str(tmp_path / "runs"), "--no-progress", "--no-report")
    assert_one_line_error(proc, "p.jsonl:2: field 'prompt'")


def test_an_arena_run_records_answers_unscored_and_the_summary_counts_no_errors(tmp_path: Path) -> None:
    proc = evalharness("run", "--task", "arena-search", "--model", "scripted:gold", "--limit", "3",
                       "--out", str(tmp_path / "runs"), "--no-progress", "--report", str(tmp_path / "r.html"))
    assert proc.returncode == 0, proc.stderr
    assert "errored" not in proc.stdout
    run = load_run(only_run(tmp_path / "runs"))
    assert len(run.results) == 3
    for r in run.results:
        assert r.error is None and r.scores == []
        assert "[fw-" in r.episode.final_answer  # the gold answer cites the documents it read
        assert [t.name for t in r.episode.tool_log][:1] == ["search"]
    (summary,) = summarize_by_domain(run.results)
    assert (summary.domain, summary.results, summary.errors, summary.score.n) == ("arena/search", 3, 0, 0)
    assert summary.unscored == 3
    assert (tmp_path / "r.html").stat().st_size > 0


def test_the_manifest_records_the_prompt_file_options(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "a", "prompt": "Write a haiku.", "category": "writing"}\n')
    proc = evalharness("run", "--task", "arena-chat", "--model", "scripted:wrong", "--opt", f"prompts={path}",
                       "--out", str(tmp_path / "runs"), "--no-progress", "--no-report")
    assert proc.returncode == 0, proc.stderr
    manifest = orjson.loads((only_run(tmp_path / "runs") / "manifest.json").read_bytes())
    (task,) = manifest["tasks"]
    assert task["name"] == "arena-chat" and task["options"]["prompts"] == str(path)


def test_a_domain_outside_arena_is_refused_in_one_line(tmp_path: Path) -> None:
    """Only arena/ domains are summarised as unscored; elsewhere a result without a score is an error."""
    proc = evalharness("run", "--task", "arena-chat", "--model", "scripted:gold", "--opt", "domain=chat",
                       "--out", str(tmp_path / "runs"), "--no-progress", "--no-report")
    assert_one_line_error(proc, "domain")
