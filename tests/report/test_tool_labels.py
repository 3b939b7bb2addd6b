"""Tool names in summaries: whatever a model or an old run directory recorded, summaries count, sort and
print them."""

from __future__ import annotations

from typing import Any

from evalharness.report.aggregate import MAX_TOOL_LABEL_CHARS, NO_TOOL_NAME, summarize_by_domain, tool_label
from evalharness.types import SampleResult


def _stored(sample_id: str, *names: Any) -> SampleResult:
    """A line of samples.jsonl as the store reads it back, with tool calls of the given names."""
    return SampleResult.from_dict({
        "task": "t", "sample_id": sample_id, "epoch": 0, "domain": "d",
        "scores": [{"value": 1.0, "domain": "d", "name": "accuracy"}], "error": None,
        "episode": {"tool_log": [{"name": n, "arguments": {}, "output": "", "is_error": True, "duration": 0.0}
                                 for n in names]},
    })


def test_missing_and_non_string_names_are_counted_beside_real_ones() -> None:
    results = [_stored("1", "calculator", None, "[/x]"), _stored("2", "", 7, ["a"], {"b": 1}, "calculator")]
    [summary] = summarize_by_domain(results)
    assert summary.tool_calls == {"(dict)": 0.5, "(int)": 0.5, "(list)": 0.5, NO_TOOL_NAME: 1.0, "[/x]": 0.5,
                                  "calculator": 1.0}


def test_long_names_are_cut_to_a_label() -> None:
    label = tool_label("x" * 10_000)
    assert len(label) == MAX_TOOL_LABEL_CHARS and label.endswith("…")
    assert tool_label("lookup") == "lookup"
