"""Spreadsheet manipulation, SpreadsheetBench-compatible, in the multi-round setting.

The model works on test case 1 in a sandbox: the input is at ``/work/input.xlsx`` and it must write
``/work/output.xlsx`` with the ``python`` tool. Its solution (every python call that succeeded, in order)
is then re-run unchanged on each other test case's input in a fresh sandbox. Each output whose cells hold
formulas is recalculated with headless LibreOffice first, so an answer written as a formula counts (the
reference reads cached values only and would see nothing). Outputs are read within bounds, outside this
process (``bounded.py``): one past them fails its case with the reason. Outputs are kept in the run
directory as ``artifacts/<task>/<sample>/epoch-<e>/<k>_<id>_output.xlsx``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path
from typing import Any

from pydantic import Field

from evalharness.adapters.base import AdapterOptions, TaskAdapter, register
from evalharness.adapters.prompts import PromptTemplate
from evalharness.adapters.spreadsheet.bounded import (
    DEFAULT_MAX_CELLS,
    Comparison,
    WorkbookBounds,
    WorkbookRefused,
    compare_outputs,
    output_has_formulas,
)
from evalharness.adapters.spreadsheet.compare import CaseResult
from evalharness.adapters.spreadsheet.layout import SheetTask, load_dataset_dir
from evalharness.agent import EpisodeContext, run_agent_loop
from evalharness.errors import EvalHarnessError
from evalharness.resources import builtin_tasks_dir
from evalharness.sandboxes.base import Sandbox
from evalharness.sandboxes.python_tool import PythonToolMode, python_tool
from evalharness.types import Episode, Sample, Score

log = logging.getLogger(__name__)

INPUT = "input.xlsx"
OUTPUT = "output.xlsx"
RECALC_TIMEOUT = 180.0


class SpreadsheetOptions(AdapterOptions):
    dataset: str | None = Field(default=None, description="SpreadsheetBench-format directory; default built-in")
    python_tool: PythonToolMode = "stateful"
    recalculate: bool = Field(default=True, description="recalculate formulas with LibreOffice before scoring")
    tool_timeout: float = Field(default=120.0, gt=0)
    max_output_cells: int = Field(default=DEFAULT_MAX_CELLS, gt=0,
                                  description="an output workbook with more cells fails its case unread")
    prompt_template: str | None = None
    domain: str = Field(default="spreadsheet", min_length=1)


@register
class SpreadsheetAdapter(TaskAdapter):
    name = "spreadsheet"
    description = "Manipulate an .xlsx with Python (SpreadsheetBench format; soft and hard restriction)."
    Options = SpreadsheetOptions
    options: SpreadsheetOptions

    def __init__(self, options: SpreadsheetOptions) -> None:
        super().__init__(options)
        self._template = PromptTemplate(options.prompt_template, "spreadsheet/prompt.jinja")
        self._bounds = WorkbookBounds(max_cells=options.max_output_cells)

    def load_samples(self) -> list[Sample]:
        root = Path(self.options.dataset) if self.options.dataset else builtin_tasks_dir() / "spreadsheet"
        samples = []
        for task in load_dataset_dir(root):
            prompt = self._template.render(instruction=task.instruction, instruction_type=task.instruction_type,
                                           answer_position=task.answer_position)
            metadata: dict[str, Any] = {"sheet_task": task.to_metadata()}
            if task.solution_code:
                metadata["gold"] = {
                    "steps": [{"tool_calls": [{"name": "python", "arguments": {"code": task.solution_code}}]},
                              {"content": f"Done: {OUTPUT} is written."}],
                    "wrong_steps": [{"tool_calls": [{"name": "python", "arguments": {
                        "code": f"import shutil\nshutil.copy({INPUT!r}, {OUTPUT!r})"}}]},
                        {"content": f"Done: {OUTPUT} is written."}],
                }
            samples.append(Sample(id=task.id, input=prompt, target=task.answer_position,
                                  domain=self.options.domain, metadata=metadata))
        return samples

    def sandbox_image(self, sample: Sample) -> str | None:
        return "office" if self.options.recalculate else "python"

    def tools(self, sample: Sample, sandbox: Sandbox | None) -> list:
        assert sandbox is not None
        return [python_tool(sandbox, self.options.python_tool, self.options.tool_timeout)]

    async def run_episode(self, sample: Sample, episode: Episode, ctx: EpisodeContext) -> None:
        if ctx.sandboxes is None:
            raise EvalHarnessError("the spreadsheet task needs a sandbox")
        task = SheetTask.from_metadata(sample.id, "", sample.metadata["sheet_task"])
        image = self.sandbox_image(sample)
        assert image is not None
        episode.messages.extend(self.opening_messages(sample))
        first, rest = task.cases[0], task.cases[1:]
        outputs: dict[int, dict[str, Any]] = {}
        async with ctx.sandboxes.sandbox(image) as sandbox:
            await sandbox.write_file(INPUT, first.input.read_bytes())
            await run_agent_loop(ctx, episode, self.tools(sample, sandbox))
            outputs[first.index] = await self._collect(sandbox, made_by="episode")
        cells = [t.arguments["code"] for t in episode.tool_log
                 if t.name == "python" and not t.is_error and isinstance(t.arguments.get("code"), str)]
        for case in rest:
            async with ctx.sandboxes.sandbox(image) as sandbox:
                await sandbox.write_file(INPUT, case.input.read_bytes())
                errors = await self._replay(sandbox, cells)
                outputs[case.index] = await self._collect(sandbox, made_by="replay", replay_errors=errors)
        if ctx.artifacts_dir is not None:
            await asyncio.to_thread(_save_outputs, ctx.artifacts_dir, sample.id, outputs)
        episode.artifacts["outputs"] = outputs
        episode.artifacts["replayed_cells"] = len(cells)

    async def _replay(self, sandbox: Sandbox, cells: list[str]) -> list[str]:
        """Run the solution's cells in order, as the model ran them; return the errors they raised."""
        errors = []
        tool = python_tool(sandbox, self.options.python_tool, self.options.tool_timeout)
        for code in cells:
            result = await tool.fn(code=code)
            if result.is_error:
                errors.append(result.text[-500:])
        return errors

    async def _collect(self, sandbox: Sandbox, made_by: str, replay_errors: list[str] | None = None
                       ) -> dict[str, Any]:
        """The output workbook's bytes (recalculated when it holds formulas) and how it was made."""
        info: dict[str, Any] = {"made_by": made_by, "recalculated": False, "data": None}
        if replay_errors:
            info["replay_errors"] = replay_errors
        exists = await sandbox.exec(["test", "-f", OUTPUT])
        if exists.exit_code != 0:
            return info
        data = await sandbox.read_file(OUTPUT)
        try:
            formulas = self.options.recalculate and await asyncio.to_thread(
                output_has_formulas, data, self._bounds)
        except WorkbookRefused as e:
            info["refused"] = str(e)
            formulas = False
        if formulas:
            recalculated = await self._recalculate(sandbox)
            if recalculated is not None:
                data = recalculated
                info["recalculated"] = True
            else:
                info["recalculation_failed"] = True
        info["data"] = data
        return info

    async def _recalculate(self, sandbox: Sandbox) -> bytes | None:
        profile = f"file:///tmp/lo-{uuid.uuid4().hex[:8]}"
        result = await sandbox.exec(
            ["soffice", f"-env:UserInstallation={profile}", "--headless", "--norestore", "--calc",
             "--convert-to", "xlsx", "--outdir", ".recalc", OUTPUT],
            timeout=RECALC_TIMEOUT, env={"HOME": "/tmp"},
        )
        if result.exit_code != 0 or (await sandbox.exec(["test", "-f", f".recalc/{OUTPUT}"])).exit_code != 0:
            log.warning("LibreOffice could not recalculate an output: %s", (result.stderr or result.stdout)[-300:])
            return None
        return await sandbox.read_file(f".recalc/{OUTPUT}")

    async def score(self, sample: Sample, episode: Episode) -> list[Score]:
        task = SheetTask.from_metadata(sample.id, "", sample.metadata["sheet_task"])
        outputs: dict[int, dict[str, Any]] = episode.artifacts.get("outputs", {})
        infos = [outputs.get(case.index, {"made_by": "none", "data": None}) for case in task.cases]
        readable = [(case, info) for case, info in zip(task.cases, infos) if not info.get("refused")]
        comparisons = [Comparison(case.answer, info.get("data"), task.answer_position) for case, info in readable]
        compared = await asyncio.to_thread(compare_outputs, comparisons, self._bounds)
        results = {case.index: result for (case, _), (result, _) in zip(readable, compared)}
        cases = []
        for case, info in zip(task.cases, infos):
            result = results.get(case.index) or CaseResult(False, error=info.get("refused"))
            cases.append({"case": case.index, **{k: v for k, v in info.items() if k != "data"},
                          **result.to_dict()})
        passed = sum(1 for c in cases if c["passed"])
        details = {"cases": cases, "instruction_type": task.instruction_type,
                   "replayed_cells": episode.artifacts.get("replayed_cells", 0)}
        soft = passed / len(cases)
        return [
            Score(soft, sample.domain, "soft_restriction", details),
            Score(1.0 if passed == len(cases) else 0.0, sample.domain, "hard_restriction", {}),
        ]


def _save_outputs(directory: Path, sample_id: str, outputs: dict[int, dict[str, Any]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for index, info in outputs.items():
        if info.get("data") is not None:
            (directory / f"{index}_{sample_id}_output.xlsx").write_bytes(info["data"])
