"""Arithmetic with a calculator tool: the smallest complete agentic task.

It exercises every part of the harness (tool specs, tool calls, tool results, final-answer scoring)
in milliseconds, which makes it the task of the ``smoke`` suite and of the overhead benchmark.
Problems are generated from a seed, so ``count`` can be anything and ids stay stable across runs.
"""

from __future__ import annotations

import ast
import asyncio
import math
import operator
import random
import re
from typing import Any, Literal

from pydantic import Field

from evalharness.adapters.base import AdapterOptions, TaskAdapter, register
from evalharness.sandboxes.base import Sandbox
from evalharness.sandboxes.python_tool import PythonToolMode, python_tool
from evalharness.tools import Tool, ToolError, ToolResult
from evalharness.types import Episode, Sample, Score, ToolSpec

_OPS: dict[type, Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_NUMBER = re.compile(r"(?:(?<![\w)])-)?\d[\d,]*(?:\.\d+)?")  # "10-20" is two numbers, not 10 and -20
_MAX_EXPONENT = 64
_MAX_BITS = 4096  # results beyond this are refused: a tool call must not stall the event loop
MAX_EXPRESSION_CHARS = 2_000  # parsing holds the GIL whichever thread does it: this bounds the pause
_INLINE_CHARS = 200  # shorter expressions take microseconds, less than a hop to a worker thread


def evaluate_expression(expression: str) -> int | float:
    """Evaluate arithmetic without ``eval``: numbers, + - * / // % **, unary minus, parentheses.

    Every way a model can make this slow or crash it is a ToolError: too long, nested too deeply for the
    recursive evaluator, results too large.
    """
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolError(f"the expression has {len(expression):,} characters; at most {MAX_EXPRESSION_CHARS:,} "
                        "are accepted: split the calculation into several calls")
    try:
        return _evaluate(expression)
    except RecursionError:  # within the length limit, Python's parser never nests this deep: the evaluator does
        raise ToolError("the expression is nested too deeply: split the calculation into several calls") from None


def _evaluate(expression: str) -> int | float:
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        raise ToolError(f"cannot parse {expression!r} as an arithmetic expression") from None

    def ev(node: ast.AST) -> int | float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Pow):
                if abs(right) > _MAX_EXPONENT:
                    raise ToolError(f"exponent {right} is too large (at most {_MAX_EXPONENT})")
                if abs(right) * math.log2(max(abs(left), 2)) > _MAX_BITS:
                    raise ToolError("result too large")
            try:
                value = _OPS[type(node.op)](left, right)
            except ZeroDivisionError:
                raise ToolError("division by zero") from None
            except OverflowError:
                raise ToolError("result too large") from None
            if isinstance(value, int) and value.bit_length() > _MAX_BITS:
                raise ToolError("result too large")
            return value
        raise ToolError(f"unsupported syntax in {expression!r}: only numbers and + - * / // % ** ( )")

    value = ev(tree)
    return int(value) if isinstance(value, float) and value.is_integer() else value


async def _calculator(expression: str) -> ToolResult:
    """Long expressions are evaluated in a worker thread so that other samples' calls go on meanwhile."""
    if len(expression) <= _INLINE_CHARS:
        return ToolResult(str(evaluate_expression(expression)))
    return ToolResult(str(await asyncio.to_thread(evaluate_expression, expression)))


CALCULATOR = Tool(
    ToolSpec(
        name="calculator",
        description="Evaluate an arithmetic expression (numbers, + - * / // % ** and parentheses).",
        parameters={
            "type": "object",
            "properties": {"expression": {"type": "string", "description": "e.g. (17 + 4) * 3"}},
            "required": ["expression"],
            "additionalProperties": False,
        },
    ),
    _calculator,
)


def extract_number(text: str) -> float | None:
    """The last number in ``text`` (thousands separators allowed), or None."""
    matches = _NUMBER.findall(text or "")
    if not matches:
        return None
    try:
        return float(matches[-1].replace(",", ""))
    except ValueError:
        return None


class CalculatorOptions(AdapterOptions):
    count: int = Field(default=8, ge=1, le=1_000_000, description="how many problems to generate")
    seed: int = Field(default=0, description="generator seed: same seed, same problems")
    domain: str = Field(default="calculator", min_length=1)
    tool: Literal["calculator", "python"] = Field(
        default="calculator", description="calculator: in-process tool; python: code run in a sandbox"
    )
    python_tool: PythonToolMode = "stateful"


@register
class CalculatorAdapter(TaskAdapter):
    name = "calculator"
    description = "Arithmetic problems solved with a calculator or a sandboxed python tool (generated)."
    Options = CalculatorOptions
    options: CalculatorOptions

    def load_samples(self) -> list[Sample]:
        rng = random.Random(self.options.seed)
        samples = []
        for i in range(self.options.count):
            a, b, c, d = rng.randint(10, 999), rng.randint(10, 999), rng.randint(2, 99), rng.randint(1, 999)
            expression = f"({a} + {b}) * {c} - {d}"
            value = (a + b) * c - d
            tool = self.options.tool
            arguments = {"expression": expression} if tool == "calculator" else {"code": f"print({expression})"}
            samples.append(
                Sample(
                    id=f"calc-{i:05d}",
                    input=f"Compute `{expression}` with the {tool} tool, then reply with the number only.",
                    target=value,
                    domain=self.options.domain,
                    metadata={
                        "expression": expression,
                        "gold": {
                            "steps": [
                                {"tool_calls": [{"name": tool, "arguments": arguments}]},
                                {"content": str(value)},
                            ],
                            "wrong_answer": str(value + 1),
                        },
                    },
                )
            )
        return samples

    def system_prompt(self, sample: Sample) -> str:
        return "You are a careful assistant. Use the tools you are given; never guess a calculation."

    def sandbox_image(self, sample: Sample) -> str | None:
        return "python" if self.options.tool == "python" else None

    def tools(self, sample: Sample, sandbox: Sandbox | None) -> list[Tool]:
        if sandbox is None:
            return [CALCULATOR]
        return [python_tool(sandbox, self.options.python_tool)]

    async def score(self, sample: Sample, episode: Episode) -> list[Score]:
        answer = extract_number(episode.final_answer)
        correct = answer is not None and abs(answer - float(sample.target)) < 1e-6
        return [
            Score(
                value=1.0 if correct else 0.0,
                domain=sample.domain,
                name="accuracy",
                details={"extracted": answer, "tool_calls": len(episode.tool_log)},
            )
        ]
