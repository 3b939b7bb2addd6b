"""How samples ended, per domain: counted from the run directory alone, and a domain where most samples hit a
limit is flagged in the console summary and in the HTML report, so its score is not read as the model's."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from evalharness import display
from evalharness.report.aggregate import summarize_by_domain
from evalharness.report.html import write_report
from evalharness.report.load import load_scores
from evalharness.types import SampleResult
from tests.report.simulate import result, write_run

TAU_WARNING = "7/10 samples hit time_limit — scores reflect the limit, not the model"
SEARCH_WARNING = "3/4 samples hit a limit (max_turns 2, max_tokens 1) — scores reflect the limits, not the model"


def ended(r: SampleResult, reason: str) -> SampleResult:
    r.episode.stop_reason = reason  # type: ignore[assignment]
    return r


def results() -> list[SampleResult]:
    tau = [ended(result("tau", f"t{i}", 0.0), "time_limit") for i in range(7)]
    tau += [result("tau", f"t{i}", 1.0) for i in range(7, 10)]
    math = [ended(result("math", "m0", 0.0), "max_turns"), ended(result("math", "m1", None, error="x"), "error"),
            result("math", "m2", 1.0), result("math", "m3", 1.0)]
    mixed = [ended(result("search", f"s{i}", 0.0), reason) for i, reason in
             enumerate(["max_turns", "max_tokens", "max_turns"])] + [result("search", "s3", 1.0)]
    return tau + math + mixed


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return write_run(tmp_path, results())


def test_stop_reasons_are_counted_per_domain_from_the_store(run_dir: Path) -> None:
    by_domain = {s.domain: s for s in summarize_by_domain(load_scores(run_dir).results or [])}
    tau, math, search = by_domain["tau"], by_domain["math"], by_domain["search"]
    assert tau.stop_reasons == {"completed": 3, "time_limit": 7}
    assert math.stop_reasons == {"completed": 2, "error": 1, "max_turns": 1}
    assert math.limits_hit == {"max_turns": 1} and math.limit_warning is None  # a minority: no flag
    assert tau.limit_warning == TAU_WARNING
    assert search.limits_hit == {"max_turns": 2, "max_tokens": 1}
    assert search.limit_warning == SEARCH_WARNING


def test_half_the_samples_at_a_limit_is_not_most(tmp_path: Path) -> None:
    half = [ended(result("math", "m0", 0.0), "time_limit"), result("math", "m1", 1.0)]
    [summary] = summarize_by_domain(half)
    assert summary.limits_hit == {"time_limit": 1} and summary.limit_warning is None


def test_the_console_summary_counts_limits_and_flags_the_domain(run_dir: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    summaries = summarize_by_domain(load_scores(run_dir).results or [])
    console = Console(record=True, width=200, file=io.StringIO())
    console.print(display.summary_table(summaries))
    table = console.export_text()
    assert "limits hit" in table
    rows = {line.split("│")[1].strip(): line for line in table.splitlines() if line.count("│") > 3}
    assert "time_limit 7" in rows["tau"] and "max_turns 1" in rows["math"]
    assert "max_turns 2, max_tokens 1" in rows["search"]
    display.print_limit_warnings(summaries)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"⚠ search: {SEARCH_WARNING}"
    assert printed[1:] == [f"⚠ tau: {TAU_WARNING}"]  # math: one sample of four at a limit


def test_the_html_report_counts_limits_and_flags_the_domain(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    write_report([run_dir], out)
    html = out.read_text(encoding="utf-8")
    assert f'<a href="#domain-2">tau</a>: {TAU_WARNING}</li>' in html
    assert '<span class="limit">time_limit 7</span>' in html
    assert '<span>completed 3</span>' in html
    assert html.count("scores reflect the") == 2  # tau and search; math is not flagged
