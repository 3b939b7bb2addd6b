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
from evalharness.adapters.tau.benchmark_text import benchmark_text
from evalharness.adapters.tau.data import TauDomain, find_domain, load_domain
from evalharness.adapters.tau.domains._common import TauToolkit
from evalharness.adapters.tau.evaluator import evaluate
from evalharness.adapters.tau.knowledge.configs import DEFAULT_RETRIEVAL, retrieval_config
from evalharness.adapters.tau.knowledge.retrieval import KnowledgeRetrieval, has_knowledge_base
from evalharness.adapters.tau.orchestrator import (
    GREETING,
    OWN_TEXT,
    STOP_TOKENS,
    Conversation,
    ConversationText,
    Limits,
    conversation_details,
    converse,
    describe_scenario,
    transcript_text,
)
from evalharness.agent import EpisodeContext
from evalharness.errors import ConfigError
from evalharness.resources import builtin_tasks_dir
from evalharness.types import Episode, Sample, Score

OWN_TEXT_CAVEAT = ("prompts and tool descriptions are evalharness's own, NOT τ²-bench's: not a τ²-bench score "
                   "(give --opt tau2_requests=DIR or a τ²-bench checkout's domain directory)")
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
    tau2_data: str | None = Field(default=None, description="τ²-bench's data (a checkout's data/tau2, or a folder "
                                                          "with one directory per domain); with `domain`")
    domain: str | None = Field(default=None, description="a domain of tau2_data, e.g. airline")
    split: str | None = Field(default=None, description="a split of split_tasks.json (default: all tasks)")
    tau2_requests: str | None = Field(default=None, description="τ²-bench's recorded first requests (a folder of "
                                      "<domain>.json): the models are shown τ²-bench's prompts and tools")
    max_steps: int = Field(default=200, ge=2, description="messages and tool calls of both sides (τ²-bench's 200)")
    max_errors: int = Field(default=10, ge=1)
    retrieval: str = Field(default=DEFAULT_RETRIEVAL, description="how the agent of a knowledge domain "
                           "(banking_knowledge) reaches its documents: bm25, grep_only, full_kb, golden_retrieval, ...")
    embeddings_url: str | None = Field(default=None, description="OpenAI-compatible embeddings endpoint of the dense "
                                       "retrieval configurations; default: the local MiniLM model")
    embeddings_model: str | None = Field(default=None, description="model for embeddings_url; default: the one the "
                                         "configuration's prompt names")


@register
class TauAdapter(TaskAdapter):
    name = "tau"
    description = "Customer service: agent, simulated user and domain tools over a database (τ²-bench format)."
    Options = TauOptions
    options: TauOptions

    def __init__(self, options: TauOptions) -> None:
        super().__init__(options)
        retrieval_config(options.retrieval)  # an unknown name stops the run before any data is read
        self.domain: TauDomain = load_domain(domain_directory(options))
        self.retrieval = knowledge_retrieval(options, self.domain.directory)
        self.text = self._conversation_text()
        self._services = RunServices()

    def _conversation_text(self) -> ConversationText:
        """τ²-bench's wording when the run has a source of it, else the project's own; every task's scenario
        is rendered once here, so a scenario the source cannot render stops the run before any model call."""
        requests = Path(self.options.tau2_requests) if self.options.tau2_requests else None
        variant = self.retrieval.config.name if self.retrieval is not None else None
        text = benchmark_text(self.domain.name, self.domain.directory, self.domain.tasks, self._policy, requests,
                              variant)
        if text is None:
            return OWN_TEXT
        text.own_tools = text.own_tool_names(self.domain.toolkit_cls, user_tools_shown=self._user_tools_shown())
        for task in self.domain.tasks_in(self.options.split):
            text.scenario.render(task["user_scenario"])
        return text

    def _user_tools_shown(self) -> set[str] | None:
        """The customer's tools the run's tasks give it, in a domain whose tasks choose them (None: every
        task gives all of them)."""
        user_tools_of = getattr(self.domain.toolkit_cls, "user_tools_of", None)
        if user_tools_of is None:
            return None
        shown: set[str] = set()
        for task in self.domain.tasks_in(self.options.split):
            offered = user_tools_of(task)
            if offered is None:
                return None
            shown.update(offered)
        return shown

    def _policy(self, task: dict[str, Any]) -> str:
        return self.retrieval.policy(task) if self.retrieval is not None else self.domain.policy

    def manifest_details(self) -> dict[str, Any]:
        return {"prompts": self.text.describe()}

    @property
    def domain_label(self) -> str:
        """``tau/<domain>``; a knowledge domain run with another retrieval configuration than the default
        (bm25) also names it, ``tau/<domain>/<retrieval>``: scores of different configurations are different
        measurements and must not be compared as one domain."""
        retrieval = self.retrieval.config.name if self.retrieval is not None else DEFAULT_RETRIEVAL
        suffix = f"/{retrieval}" if retrieval != DEFAULT_RETRIEVAL else ""
        return f"tau/{self.domain.name}{suffix}"

    def load_samples(self) -> list[Sample]:
        samples = []
        for task in self.domain.tasks_in(self.options.split):
            criteria = task.get("evaluation_criteria") or {}
            samples.append(Sample(
                id=str(task["id"]), input=describe_scenario(task["user_scenario"]), target=criteria.get("actions"),
                domain=self.domain_label, metadata={"task_id": str(task["id"]), "gold": _gold(task)},
            ))
        return samples

    async def setup(self, services: RunServices) -> None:
        self._services = services
        if self.retrieval is not None:
            await self.retrieval.open()

    async def teardown(self) -> None:
        if self.retrieval is not None:
            await self.retrieval.close()

    def tool_names(self, sample: Sample) -> set[str]:
        retrieval = set(self.retrieval.config.tool_names) if self.retrieval is not None else set()
        return retrieval | {spec.name for spec in self.domain.toolkit_cls.tool_specs("agent")}

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
        retrieval_tools = self.retrieval.tools() if self.retrieval is not None else []
        # the run's extra tools (an MCP server's) come after the domain's own, as the agent loop offers them
        await converse(ctx, episode, toolkit, self._policy(task), task["user_scenario"], user,
                       Limits(self.options.max_steps, self.options.max_errors), _history(task), conversation,
                       retrieval_tools, self.text, ctx.extra_tools)
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
                                         episode.messages, conversation.by_stop_signal, verdicts,
                                         conversation.user_tool_calls)
        details = {**reward.details, "components": reward.components, **conversation_details(conversation)}
        if self.retrieval is not None:
            details["retrieval"] = self.retrieval.describe()
            details["setup"] = f"retrieval configuration {self.retrieval.config.name}"
        details["prompts"] = self.text.describe()
        if not self.text.is_benchmark_text and issubclass(self.domain.toolkit_cls, TauToolkit):
            details["caveat"] = OWN_TEXT_CAVEAT
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


def domain_directory(options: TauOptions) -> Path:
    """Where the domain's data is: ``domain`` in ``tau2_data`` (how a suite names τ²-bench's domains, the data
    given once for all of them), ``domain_dir``, or the built-in bikeshop."""
    if options.domain is None:
        if options.tau2_data is not None:
            raise ConfigError("tau: tau2_data goes with domain (e.g. --opt domain=airline)")
        return Path(options.domain_dir) if options.domain_dir else builtin_tasks_dir() / "tau" / "bikeshop"
    if options.domain_dir is not None:
        raise ConfigError("tau: give either domain_dir or domain (with tau2_data), not both")
    if options.tau2_data is None:
        raise ConfigError(f"tau: domain {options.domain!r} is read from τ²-bench's data: set tau2_data "
                          "(with a suite: --opt tau2_data=PATH, PATH a checkout's data/tau2)")
    return find_domain(Path(options.tau2_data), options.domain)


def knowledge_retrieval(options: TauOptions, directory: Path) -> KnowledgeRetrieval | None:
    """The retrieval configuration of a knowledge domain; None for the others, which have no documents (a
    suite's ``--opt retrieval=...`` reaches every domain and concerns only the knowledge one)."""
    if not has_knowledge_base(directory):
        return None
    return KnowledgeRetrieval.named(options.retrieval, directory, options.embeddings_url, options.embeddings_model)


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
    for token in STOP_TOKENS:  # a scenario that tells the simulator when to stop must not stop the replay
        opening = str(opening or "").replace(token, "")
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
