"""What `run` prints: domain, score and tool names from models and data appear exactly as they are."""

from __future__ import annotations

import asyncio

import pytest
from rich.console import Console

from evalharness.display import RunProgress, print_domain_metrics, summary_table
from evalharness.report.aggregate import DomainSummary
from evalharness.report.stats import mean_and_se
from evalharness.runner import RunStats

MARKUP = "[/x]:x:[bold]"


def _summary(domain: str, tool: str) -> DomainSummary:
    return DomainSummary(domain=domain, score=mean_and_se([1.0, 0.0]), results=2, errors=1, input_tokens=10,
                         output_tokens=5, model_calls=3, epochs=1, pass_at_k=None,
                         secondary={f"judge{MARKUP}": mean_and_se([1.0, 1.0])}, tool_calls={tool: 1.0})


def test_the_summary_table_prints_domains_literally() -> None:
    console = Console(record=True, width=200, highlight=False)
    console.print(summary_table([_summary(f"math{MARKUP}", "python")]))
    text = console.export_text()
    assert f"math{MARKUP}" in text and "❌" not in text


def test_domain_metrics_print_score_and_tool_names_literally(capsys: pytest.CaptureFixture[str]) -> None:
    print_domain_metrics([_summary(f"math{MARKUP}", f"tool{MARKUP}")], [])
    line = capsys.readouterr().out.strip()
    assert line == f"math{MARKUP}: judge{MARKUP} 1.000 ± 0.000 · tool calls/sample tool{MARKUP} 1.00"


async def test_the_progress_line_of_a_log_prints_the_model_name_literally(
        capsys: pytest.CaptureFixture[str]) -> None:
    progress = RunProgress(f"smoke · openai:{MARKUP}", log_every=0.0)  # stderr is not a terminal here
    progress.attach(RunStats(total=4, done=1))
    await asyncio.sleep(0)  # the poller prints its first line before it first waits
    await progress.close()
    assert capsys.readouterr().err.startswith(f"smoke · openai:{MARKUP}: 1/4 · running 0")
