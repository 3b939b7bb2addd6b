"""Open-ended tasks for arena battles: ``arena-search`` (answers with the search tools over a corpus,
citing documents by id) and ``arena-chat`` (no tools: chat and writing prompts).

They have no exact answer, so they record the answer and no score: the run's summary shows their domains
with no score and no errors, and ``evalharness arena`` judges the answers of several runs pairwise.

Prompts are JSONL, one object a line: ``id``, ``prompt``, and optionally ``category`` (the domain becomes
``arena/<category>``), ``query`` and ``docids`` (what ``scripted:gold`` searches for and cites), ``answer``
(the answer ``scripted:gold`` gives).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from evalharness.adapters.base import AdapterOptions, RunServices, TaskAdapter, register
from evalharness.adapters.search.index import Retriever, SearchIndex, open_or_build
from evalharness.adapters.search.tools import SearchTrace, search_tools
from evalharness.agent import EpisodeContext, run_agent_loop
from evalharness.datasets import iter_jsonl
from evalharness.errors import DataError, EvalHarnessError
from evalharness.report.aggregate import UNSCORED_DOMAIN_PREFIX
from evalharness.resources import builtin_tasks_dir
from evalharness.types import Episode, Sample, Score

log = logging.getLogger(__name__)

ARENA_TASKS = ("arena-search", "arena-chat")
DOMAIN_PREFIX = UNSCORED_DOMAIN_PREFIX  # the summary counts these domains' results as unscored, not errored
_CATEGORY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

SEARCH_SYSTEM_PROMPT = """\
You answer open-ended questions about a collection of documents. Use the `search` tool to find documents \
and `get_document` to read one in full. Base your answer on what the documents say and cite each \
document you rely on by its docid in square brackets, e.g. [fw-00012]. Write the answer for a reader \
who has not seen the documents."""

CHAT_SYSTEM_PROMPT = "You are a helpful assistant. Answer the user's request as well as you can."


@dataclass(frozen=True)
class ArenaPrompt:
    id: str
    prompt: str
    category: str | None
    query: str | None
    docids: tuple[str, ...]
    answer: str | None


def load_prompts(path: Path) -> list[ArenaPrompt]:
    """The prompts of a JSONL file; every problem names the file, the line and the field."""
    prompts: list[ArenaPrompt] = []
    seen: dict[str, int] = {}
    for number, obj in iter_jsonl(path):
        where = f"{path}:{number}"
        pid, text = obj.get("id"), obj.get("prompt")
        if not isinstance(pid, (str, int)) or isinstance(pid, bool) or str(pid) == "":
            raise DataError(f"{where}: field 'id' must be a non-empty string or integer")
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{where}: field 'prompt' must be a non-empty string")
        pid = str(pid)
        if pid in seen:
            raise DataError(f"{where}: duplicate id {pid!r} (first on line {seen[pid]})")
        seen[pid] = number
        category = _optional_text(obj, "category", where)
        if category is not None and not _CATEGORY.match(category):
            raise DataError(f"{where}: field 'category' {category!r} must be lower-case letters, digits, '-' or '_'")
        docids = obj.get("docids") or []
        if not isinstance(docids, list) or not all(isinstance(d, str) for d in docids):
            raise DataError(f"{where}: field 'docids' must be a list of strings")
        prompts.append(ArenaPrompt(pid, text, category, _optional_text(obj, "query", where), tuple(docids),
                                   _optional_text(obj, "answer", where)))
    if not prompts:
        raise DataError(f"{path} has no prompts")
    return prompts


def _optional_text(obj: dict[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise DataError(f"{where}: field {key!r} must be a string")
    return value


class ArenaOptions(AdapterOptions):
    prompts: str | None = Field(default=None, description="prompts JSONL (id, prompt[, category]); default built-in")
    domain: str | None = Field(default=None, pattern=f"^{DOMAIN_PREFIX}.+",
                               description=f"domain of prompts without a category, starting with {DOMAIN_PREFIX} "
                                           "(default arena/search, arena/chat)")


class ArenaSearchOptions(ArenaOptions):
    corpus: str | None = Field(default=None, description="corpus JSONL; default: the built-in fictional world")
    retriever: Retriever = "bm25"
    k: int = Field(default=5, ge=1, le=20, description="default number of search results")
    snippet_words: int = Field(default=40, ge=1)
    page_words: int = Field(default=1500, ge=50)


class _ArenaAdapter(TaskAdapter):
    """What both variants share: prompts, domains, no score."""

    builtin_prompts: ClassVar[str]
    default_category: ClassVar[str]
    system: ClassVar[str]
    options: ArenaOptions

    def _prompts_path(self) -> Path:
        return Path(self.options.prompts) if self.options.prompts else builtin_tasks_dir() / "arena" / self.builtin_prompts

    def _domain(self, prompt: ArenaPrompt) -> str:
        if prompt.category is not None:
            return DOMAIN_PREFIX + prompt.category
        return self.options.domain or DOMAIN_PREFIX + self.default_category

    def system_prompt(self, sample: Sample) -> str | None:
        return self.system

    def load_samples(self) -> list[Sample]:
        return [Sample(id=p.id, input=p.prompt, target=None, domain=self._domain(p),
                       metadata={"prompt": p.prompt, "gold": self._gold(p)})
                for p in load_prompts(self._prompts_path())]

    def _gold(self, prompt: ArenaPrompt) -> dict[str, Any]:
        """What ``scripted:gold`` replays (and ``scripted:wrong`` cuts short): tests and smoke runs get two
        runs whose answers differ in length and citations."""
        cited = " ".join(f"[{d}]" for d in prompt.docids)
        answer = prompt.answer or f"Here is a considered answer to your request.\n\n- {prompt.prompt}\n{cited}".strip()
        return {"steps": [{"content": answer}], "wrong_answer": "I am not sure."}

    async def score(self, sample: Sample, episode: Episode) -> list[Score]:
        """None: an open-ended answer is judged later, against other runs' answers (``evalharness arena``)."""
        return []


@register
class ArenaChatAdapter(_ArenaAdapter):
    name = "arena-chat"
    description = "Open-ended chat and writing prompts, no tools; unscored: judged pairwise by `evalharness arena`."
    Options = ArenaOptions
    builtin_prompts = "chat_prompts.jsonl"
    default_category = "chat"
    system = CHAT_SYSTEM_PROMPT


@register
class ArenaSearchAdapter(_ArenaAdapter):
    name = "arena-search"
    description = ("Open-ended questions answered with search/get_document over a corpus, citing documents; "
                   "unscored: judged pairwise by `evalharness arena`.")
    Options = ArenaSearchOptions
    options: ArenaSearchOptions
    builtin_prompts = "search_prompts.jsonl"
    default_category = "search"
    system = SEARCH_SYSTEM_PROMPT

    def __init__(self, options: ArenaSearchOptions) -> None:
        super().__init__(options)
        self._index: SearchIndex | None = None

    def _gold(self, prompt: ArenaPrompt) -> dict[str, Any]:
        gold = super()._gold(prompt)
        calls = [{"tool_calls": [{"name": "search", "arguments": {"query": prompt.query}}]}] if prompt.query else []
        calls += [{"tool_calls": [{"name": "get_document", "arguments": {"docid": d}}]} for d in prompt.docids]
        return {**gold, "steps": [*calls, *gold["steps"]]}

    async def setup(self, services: RunServices) -> None:
        corpus = Path(self.options.corpus) if self.options.corpus else builtin_tasks_dir() / "search" / "corpus.jsonl"
        report = await asyncio.to_thread(open_or_build, corpus, {}, self.options.retriever)
        self._index = report.index
        log.info("arena search index %s: %d documents", report.index.path, report.index.documents)

    async def run_episode(self, sample: Sample, episode: Episode, ctx: EpisodeContext) -> None:
        if self._index is None:
            raise EvalHarnessError("the search index is not open (setup did not run)")
        episode.messages.extend(self.opening_messages(sample))
        tools = search_tools(self._index, SearchTrace(), self.options.retriever, self.options.k,
                             self.options.snippet_words, self.options.page_words)
        await run_agent_loop(ctx, episode, tools)
