"""Competition math with an optional Python tool (AIME-style), scored on the final answer.

Built-in data is ``tasks/math/problems.jsonl``; any JSONL/JSON/CSV/Parquet file or Hugging Face dataset
with a problem and an answer column works through ``dataset`` and ``fields``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from evalharness.adapters.base import AdapterOptions, TaskAdapter, register
from evalharness.adapters.prompts import PromptTemplate
from evalharness.datasets import load_records, map_fields
from evalharness.resources import builtin_tasks_dir
from evalharness.sandboxes.base import Sandbox
from evalharness.sandboxes.python_tool import python_tool
from evalharness.scoring.math_answers import answers_match, extract_final_answer
from evalharness.tools import Tool
from evalharness.types import Episode, Sample, Score

FIELDS_REQUIRED = ("problem", "answer")
FIELDS_OPTIONAL = ("id", "solution_code")


class MathOptions(AdapterOptions):
    dataset: str | None = Field(default=None, description="file or HF dataset name; default: built-in problems")
    split: str | None = None
    fields: dict[str, str] = Field(default_factory=dict, description="task field -> data field")
    python_tool: Literal["stateful", "stateless", "none"] = "stateful"
    prompt_template: str | None = Field(default=None, description="Jinja2 file; variables: problem, python_tool")
    tool_timeout: float = Field(default=60.0, gt=0, description="seconds per python call")
    domain: str = Field(default="math", min_length=1)


@register
class MathAdapter(TaskAdapter):
    name = "math"
    description = "Competition math (integer answers in \\boxed{}), with a sandboxed python tool."
    Options = MathOptions
    options: MathOptions

    def __init__(self, options: MathOptions) -> None:
        super().__init__(options)
        self._template = PromptTemplate(options.prompt_template, "math/prompt.jinja")

    def load_samples(self) -> list[Sample]:
        source = self.options.dataset or builtin_tasks_dir() / "math" / "problems.jsonl"
        rows = map_fields(load_records(source, self.options.split), self.options.fields, FIELDS_REQUIRED,
                          FIELDS_OPTIONAL)
        samples = []
        for i, row in enumerate(rows):
            problem, answer = str(row["problem"]), str(row["answer"]).strip()
            sample_id = str(row.get("id", i))
            prompt = self._template.render(problem=problem, python_tool=self.options.python_tool)
            samples.append(Sample(
                id=sample_id, input=prompt, target=answer, domain=self.options.domain,
                metadata={"gold": self._gold(answer, row.get("solution_code"))},
            ))
        return samples

    def _gold(self, answer: str, code: str | None) -> dict[str, object]:
        """A trajectory for ``scripted:gold``: the solution program through the python tool when there is
        one (and a tool), then the boxed answer."""
        steps: list[dict[str, object]] = []
        if code and self.options.python_tool != "none":
            steps.append({"tool_calls": [{"name": "python", "arguments": {"code": code}}]})
        steps.append({"content": f"The answer is \\boxed{{{answer}}}."})
        wrong = str(int(answer) + 1) if answer.lstrip("-").isdigit() else f"{answer} + 1"
        return {"steps": steps, "wrong_answer": f"The answer is \\boxed{{{wrong}}}."}

    def sandbox_image(self, sample: Sample) -> str | None:
        return None if self.options.python_tool == "none" else "python"

    def tools(self, sample: Sample, sandbox: Sandbox | None) -> list[Tool]:
        if sandbox is None or self.options.python_tool == "none":
            return []
        return [python_tool(sandbox, self.options.python_tool, self.options.tool_timeout)]

    async def score(self, sample: Sample, episode: Episode) -> list[Score]:
        extraction = extract_final_answer(episode.final_answer)
        correct = extraction.answer is not None and answers_match(str(sample.target), extraction.answer)
        return [Score(
            value=1.0 if correct else 0.0,
            domain=sample.domain,
            name="accuracy",
            details={
                "extracted": extraction.answer,
                "method": extraction.method,
                "tool_calls": len(episode.tool_log),
                "tool_errors": sum(1 for t in episode.tool_log if t.is_error),
            },
        )]
