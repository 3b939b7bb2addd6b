"""Answering questions by searching a fixed corpus (BrowseComp-Plus-style), with a closed-book control.

Open-book, the model has ``search`` and ``get_document``; closed-book, it gets the same questions and no
tools. Closed-book results go to the domain ``<domain>:closed-book``, so a run with both conditions shows
how much of the open-book score search really adds (the summary prints the paired difference).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from evalharness.adapters.base import AdapterOptions, RunServices, TaskAdapter, register
from evalharness.adapters.prompts import PromptTemplate
from evalharness.adapters.search.corpus import Question, load_qrels, load_questions
from evalharness.adapters.search.grading import exact_match, extract_answer, extract_confidence
from evalharness.adapters.search.index import Retriever, SearchIndex, open_or_build
from evalharness.adapters.search.tools import SearchTrace, search_tools
from evalharness.agent import EpisodeContext, run_agent_loop
from evalharness.errors import EvalHarnessError
from evalharness.report.aggregate import CLOSED_BOOK_SUFFIX
from evalharness.resources import builtin_tasks_dir
from evalharness.tools import Tool
from evalharness.types import Episode, Sample, Score

log = logging.getLogger(__name__)

class SearchOptions(AdapterOptions):
    corpus: str | None = Field(default=None, description="corpus JSONL; default: the built-in fictional world")
    questions: str | None = Field(default=None, description="questions JSONL; default: built-in")
    qrels: str | None = Field(default=None, description="TREC qrels with the evidence documents")
    fields: dict[str, str] = Field(default_factory=dict, description="our field -> data field")
    condition: Literal["open-book", "closed-book"] = "open-book"
    retriever: Retriever = "bm25"
    k: int = Field(default=5, ge=1, le=20, description="default number of search results")
    snippet_words: int = Field(default=40, ge=1)
    page_words: int = Field(default=1500, ge=50)
    prompt_template: str | None = None
    domain: str = Field(default="search", min_length=1)


@register
class SearchAdapter(TaskAdapter):
    name = "search"
    description = "Multi-hop questions answered with search/get_document over a fixed corpus (or closed-book)."
    Options = SearchOptions
    options: SearchOptions

    def __init__(self, options: SearchOptions) -> None:
        super().__init__(options)
        self._index: SearchIndex | None = None
        self._services = RunServices()
        self._template = PromptTemplate(options.prompt_template, "search/prompt.jinja")

    @property
    def open_book(self) -> bool:
        return self.options.condition == "open-book"

    def _corpus_path(self) -> Path:
        return Path(self.options.corpus) if self.options.corpus else builtin_tasks_dir() / "search" / "corpus.jsonl"

    def _questions(self) -> list[Question]:
        path = Path(self.options.questions) if self.options.questions else (
            builtin_tasks_dir() / "search" / "questions.jsonl")
        qrels = load_qrels(Path(self.options.qrels)) if self.options.qrels else None
        fields = {k: v for k, v in self.options.fields.items() if k in ("id", "question", "answer", "evidence_docids")}
        return load_questions(path, fields, qrels)

    def load_samples(self) -> list[Sample]:
        domain = self.options.domain + ("" if self.open_book else CLOSED_BOOK_SUFFIX)
        samples = []
        for q in self._questions():
            prompt = self._template.render(question=q.question, condition=self.options.condition)
            samples.append(Sample(id=q.id, input=prompt, target=q.answer, domain=domain, metadata={
                "question": q.question, "evidence": list(q.evidence), "gold": self._gold(q)}))
        return samples

    def _gold(self, q: Question) -> dict[str, Any]:
        """The scripted trajectory: open-book, the question's search/get_document calls (or a search for the
        question and a read of each evidence document) and the answer; closed-book, a model that cannot
        look anything up does not know."""
        answer = {"content": f"Explanation: found in the documents.\nExact Answer: {q.answer}\nConfidence: 100%"}
        if not self.open_book:
            return {"steps": [{"content": "Exact Answer: unknown\nConfidence: 0%"}], "wrong_answer": "Exact Answer: unknown"}
        calls = [dict(c) for c in q.gold_trajectory] or (
            [{"tool": "search", "query": q.question}] + [{"tool": "get_document", "docid": d} for d in q.evidence])
        steps = []
        for call in calls:
            tool = call["tool"]
            arguments = {k: v for k, v in call.items() if k != "tool"}
            steps.append({"tool_calls": [{"name": tool, "arguments": arguments}]})
        return {"steps": [*steps, answer], "wrong_answer": "Exact Answer: none of the above\nConfidence: 100%"}

    async def setup(self, services: RunServices) -> None:
        self._services = services
        if not self.open_book:
            return
        report = await asyncio.to_thread(open_or_build, self._corpus_path(), self._corpus_fields(),
                                         self.options.retriever)
        self._index = report.index
        log.info("search index %s: %d documents (%s, %.1fs)", report.index.path, report.index.documents,
                 "cached" if report.cache_hit else "built", report.seconds)

    def tool_names(self, sample: Sample) -> set[str]:
        return {tool.name for tool in self.open_book_tools(SearchTrace())} if self.open_book else set()

    def open_book_tools(self, trace: SearchTrace) -> list[Tool]:
        """``search`` and ``get_document`` over the task's index (opened by ``setup``), recording into ``trace``."""
        if self._index is None:
            raise EvalHarnessError("the search index is not open (setup did not run)")
        return search_tools(self._index, trace, self.options.retriever, self.options.k,
                            self.options.snippet_words, self.options.page_words)

    def _corpus_fields(self) -> dict[str, str]:
        return {k: v for k, v in self.options.fields.items() if k in ("docid", "title", "text")}

    async def run_episode(self, sample: Sample, episode: Episode, ctx: EpisodeContext) -> None:
        episode.messages.extend(self.opening_messages(sample))
        trace = SearchTrace()
        tools = self.open_book_tools(trace) if self.open_book else []
        episode.artifacts["trace"] = trace
        await run_agent_loop(ctx, episode, tools)

    async def score(self, sample: Sample, episode: Episode) -> list[Score]:
        response = episode.final_answer
        extracted = extract_answer(response)
        trace: SearchTrace = episode.artifacts.get("trace") or SearchTrace()
        details: dict[str, Any] = {
            "extracted": extracted,
            "condition": self.options.condition,
            "search_calls": sum(1 for t in episode.tool_log if t.name == "search"),
            "get_document_calls": sum(1 for t in episode.tool_log if t.name == "get_document"),
            "exact_match": exact_match(str(sample.target), extracted),
        }
        if (confidence := extract_confidence(response)) is not None:
            details["confidence"] = confidence
        correct = details["exact_match"]
        details["method"] = "exact_match"
        judge = self._services.judge
        if judge is not None:
            verdict = await judge.grade(sample.metadata["question"], response, str(sample.target), sample)
            details.update(verdict.to_details())
            if verdict.correct is not None:
                correct, details["method"] = verdict.correct, "judge"
                if verdict.confidence is not None:
                    details["confidence"] = verdict.confidence
        scores = [Score(1.0 if correct else 0.0, sample.domain, "accuracy", details)]
        evidence = set(sample.metadata.get("evidence") or ())
        if self.open_book and evidence:
            found = evidence & trace.seen
            details["evidence_found"] = sorted(found)
            scores.append(Score(len(found) / len(evidence), sample.domain, "evidence_recall", {}))
        return scores
