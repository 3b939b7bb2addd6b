"""Customer service with a simulated user (τ²-bench-compatible): the ``tau`` task.

Runs the project's own domain (``tasks/tau/bikeshop``) or any τ²-bench domain directory whose toolkit is
registered (``mock``, ``retail``, ``airline``). Each sample is one task; ``--epochs`` (alias ``--trials``) repeats it,
and the summary's pass^k reads "succeeds in all k of k trials". Domains are named ``tau/<domain>``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import Field

from evalharness.adapters.base import AdapterOptions, RunServices, TaskAdapter, register
from evalharness.adapters.tau.data import TauDomain, load_domain
from evalharness.adapters.tau.evaluator import evaluate
from evalharness.adapters.tau.orchestrator import (
    GREETING,
    Conversation,
    Limits,
    conversation_details,
    converse,
    describe_scenario,
    transcript_text,
)
from evalharness.agent import EpisodeContext
from evalharness.resources import builtin_tasks_dir
from evalharness.types import Episode, Sample, Score

ASK_USER = "Please do the following on your side, then tell me when it is done: {steps}."
USER_DONE = "Done."

NL_PROMPT = """\
Here is a conversation between a customer-service agent and a customer:

<conversation>
{transcript}
</conversation>

Does the conversation satisfy this statement? {assertion}

Reply with two lines:
reasoning: one sentence
correct: yes if it does, otherwise no
"""


class TauOptions(AdapterOptions):
    domain_dir: str | None = Field(default=None, description="τ²-bench domain directory; default: built-in bikeshop")
    split: str | None = Field(default=None, description="a split of split_tasks.json (default: all tasks)")
    max_steps: int = Field(default=100, ge=2)
    max_errors: int = Field(default=10, ge=1)


@register
class TauAdapter(TaskAdapter):
    name = "tau"
    description = "Customer service: agent, simulated user and domain tools over a database (τ²-bench format)."
    Options = TauOptions
    options: TauOptions

    def __init__(self, options: TauOptions) -> None:
        super().__init__(options)
        directory = Path(options.domain_dir) if options.domain_dir else builtin_tasks_dir() / "tau" / "bikeshop"
        self.domain: TauDomain = load_domain(directory)
        self._services = RunServices()

    def load_samples(self) -> list[Sample]:
        samples = []
        for task in self.domain.tasks_in(self.options.split):
            criteria = task.get("evaluation_criteria") or {}
            samples.append(Sample(
                id=str(task["id"]), input=describe_scenario(task["user_scenario"]), target=criteria.get("actions"),
                domain=f"tau/{self.domain.name}", metadata={"task_id": str(task["id"]), "gold": _gold(task)},
            ))
        return samples

    async def setup(self, services: RunServices) -> None:
        self._services = services

    def _task(self, sample: Sample) -> dict[str, Any]:
        task_id = sample.metadata["task_id"]
        return next(t for t in self.domain.tasks if str(t["id"]) == task_id)

    async def run_episode(self, sample: Sample, episode: Episode, ctx: EpisodeContext) -> None:
        task = self._task(sample)
        toolkit = self.domain.new_toolkit(task)
        # kept before the conversation starts: the run's time limit may cut it short
        conversation = Conversation()
        episode.artifacts.update(toolkit=toolkit, conversation=conversation)
        user = self._services.user_model or ctx.backend
        await converse(ctx, episode, toolkit, self.domain.policy, task["user_scenario"], user,
                       Limits(self.options.max_steps, self.options.max_errors), _history(task), conversation)
        if conversation.termination in ("max_steps", "too_many_errors"):
            episode.stop_reason = "max_turns"

    async def score(self, sample: Sample, episode: Episode) -> list[Score]:
        task = self._task(sample)
        conversation: Conversation = episode.artifacts["conversation"]
        if conversation.termination == "running":  # the run's --time-limit stopped it
            conversation.termination = episode.stop_reason
        verdicts = await self._nl_verdicts(sample, task, episode)
        # a gold replay over the domain's whole database (airline's is 7 MB): off the event loop
        reward = await asyncio.to_thread(evaluate, self.domain, task, episode.artifacts["toolkit"],
                                         episode.messages, conversation.by_stop_signal, verdicts)
        details = {**reward.details, "components": reward.components, **conversation_details(conversation)}
        return [Score(reward.value, sample.domain, "reward", details)]

    async def _nl_verdicts(self, sample: Sample, task: dict[str, Any], episode: Episode) -> dict[str, bool] | None:
        criteria = task.get("evaluation_criteria") or {}
        assertions = criteria.get("nl_assertions") or []
        if not assertions or "NL_ASSERTION" not in (criteria.get("reward_basis") or ()):
            return {}
        judge = self._services.judge
        if judge is None:
            return None
        transcript = transcript_text(episode.messages)
        verdicts = {}
        for assertion in assertions:
            verdict = await judge.verdict(NL_PROMPT.format(transcript=transcript, assertion=assertion), sample)
            verdicts[assertion] = bool(verdict.correct)
        return verdicts


def _history(task: dict[str, Any]) -> list[dict[str, Any]]:
    return (task.get("initial_state") or {}).get("message_history") or []


def _gold(task: dict[str, Any]) -> dict[str, Any]:
    """For ``scripted:`` runs: the agent greets, replays the gold actions in order, then tells the customer
    the values the task requires; the scripted user states its request, then ends the conversation. Gold
    actions of the user (dual control: the customer acts on their own device) are replayed by the user in
    their turn: the agent asks for each run of them, the user makes those calls and says so. A task that
    starts from a message history has no greeting, and both sides count their turns from its end."""
    criteria = task.get("evaluation_criteria") or {}
    history = _history(task)
    greeting: list[dict[str, Any]] = [] if history else [{"content": GREETING}]
    scenario = task["user_scenario"].get("instructions")
    opening = scenario.get("reason_for_call") if isinstance(scenario, dict) else scenario
    agent_steps = list(greeting)
    user_steps: list[dict[str, Any]] = [{"content": str(opening or "Hello, I need help.")}]
    for requestor, actions in _runs_by_requestor(criteria.get("actions") or []):
        calls = [{"tool_calls": [{"name": a["name"], "arguments": a.get("arguments") or {}}]}
                 for a in actions]
        if requestor == "user":
            agent_steps.append({"content": ASK_USER.format(steps=", ".join(a["name"] for a in actions))})
            user_steps += [*calls, {"content": USER_DONE}]
        else:
            agent_steps += calls
    infos = [str(i) for i in criteria.get("communicate_info") or []]
    final = "All done." + (f" For your records: {'; '.join(infos)}." if infos else "")
    return {"steps": [*agent_steps, {"content": final}], "user_steps": user_steps,
            "wrong_steps": [*greeting, {"content": "I cannot help with that."}],
            "turns_before": {role: sum(1 for m in history if m.get("role") == role) for role in ("assistant", "user")}}


def _runs_by_requestor(actions: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Gold actions as consecutive runs of one requestor (``assistant`` or ``user``), in order."""
    runs: list[tuple[str, list[dict[str, Any]]]] = []
    for action in actions:
        requestor = action.get("requestor", "assistant")
        if runs and runs[-1][0] == requestor:
            runs[-1][1].append(action)
        else:
            runs.append((requestor, [action]))
    return runs
