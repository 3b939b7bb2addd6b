"""Knowledge bases for the tests: the real banking_knowledge data, and small synthetic domains."""

from __future__ import annotations

import json
from pathlib import Path

from tests.adapters.tau.test_evaluator import BIKESHOP, TASKS, make_domain

REAL_TAU2 = BIKESHOP.parents[3] / "shared" / "data" / "tau2"
BANKING = REAL_TAU2 / "banking_knowledge"
WIRE = REAL_TAU2 / "wire"

# Synthetic documents: (id, title, content). Their file names sort in another order than their ids.
DOCUMENTS = [
    ("doc_lounge", "Lounge access", "Lounge visits: four a year. The lounge pass covers one guest."),
    ("doc_fees", "Card fees", "The annual fee is 95 dollars. A late fee is 30 dollars. No fee abroad."),
    ("doc_wire", "Wire transfers", "A wire transfer costs 25 dollars and arrives the same day."),
]
PROMPTS = {
    "components/header.md": "# Test bank policy\n\nHelp the customer.\n",
    "classic_rag_bm25_no_grep.md": "{{component:header}}\nSearch with `KB_search`.\n",
    "grep_only.md": "{{component:header}}\nSearch with `grep`.\n",
    "no_knowledge.md": "{{component:header}}\n",
    "full_kb.md": "{{component:header}}\n<kb>\n{{full_knowledge_base}}\n</kb>\n",
    "required_docs.md": "{{component:header}}\n<docs>\n{{required_documents}}\n</docs>\n",
    "classic_rag_openai_no_grep.md": "{{component:header}}\nSearch with `KB_search` (embeddings).\n",
}


def write_knowledge(directory: Path) -> Path:
    """``documents/`` and ``prompts/`` of a synthetic knowledge base in ``directory``."""
    (directory / "documents").mkdir(parents=True)
    for number, (doc_id, title, content) in enumerate(DOCUMENTS):
        path = directory / "documents" / f"{number:02d}_{doc_id}.json"
        path.write_text(json.dumps({"id": doc_id, "title": title, "content": content}), encoding="utf-8")
    for name, text in PROMPTS.items():
        path = directory / "prompts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return directory


def knowledge_domain(parent: Path, required: list[str] | None = None) -> Path:
    """The built-in bikeshop domain with one task (requiring ``required`` documents) and a knowledge base."""
    task = {**TASKS[0], "required_documents": required or []}
    return write_knowledge(make_domain(parent, [task]))

