"""The knowledge base of a τ²-bench domain: ``documents/*.json`` (``id``, ``title``, ``content``).

Documents keep the order τ²-bench gives them (file names sorted), because the full-knowledge-base prompt
inlines them in that order. Everything derived from them (the search index, embeddings, the files a
sandbox mounts) is cached under a fingerprint of their bytes, so an edited document is never served stale.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from evalharness.datasets import read_json
from evalharness.errors import DataError
from evalharness.resources import cache_dir

DOCUMENT_FIELDS = ("id", "title", "content")
SEPARATOR = "\n\n---\n\n"  # between documents inlined in a prompt


@dataclass(frozen=True, slots=True)
class KnowledgeDocument:
    id: str
    title: str
    content: str

    def as_markdown(self) -> str:
        """How a prompt inlines the document: its title as a heading, then its content."""
        return f"## {self.title}\n\n{self.content}"


class KnowledgeBase:
    def __init__(self, directory: Path, documents: list[KnowledgeDocument], fingerprint: str) -> None:
        self.directory = directory
        self.documents = documents
        self.fingerprint = fingerprint
        self._by_id = {d.id: d for d in documents}
        self._by_title = {d.title: d for d in documents}

    @classmethod
    def load(cls, directory: Path) -> KnowledgeBase:
        """Every ``*.json`` of ``directory``; a file that is not a document names itself and what it lacks."""
        paths = sorted(Path(directory).glob("*.json"))
        if not paths:
            raise DataError(f"{directory}: no documents (*.json)")
        digest = hashlib.sha256()
        documents: list[KnowledgeDocument] = []
        seen: dict[str, Path] = {}
        for path in paths:
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
            document = _read_document(path)
            if document.id in seen:
                raise DataError(f"{path}: document id {document.id!r} is also the id of {seen[document.id].name}")
            seen[document.id] = path
            documents.append(document)
        return cls(Path(directory), documents, digest.hexdigest()[:20])

    def get(self, id_: str) -> KnowledgeDocument | None:
        return self._by_id.get(id_)

    def resolve(self, reference: str) -> KnowledgeDocument | None:
        """A task's ``required_documents`` entry, which τ²-bench reads as a title first, then as an id."""
        return self._by_title.get(reference) or self._by_id.get(reference)

    def inline(self, documents: list[KnowledgeDocument]) -> str:
        return SEPARATOR.join(d.as_markdown() for d in documents)

    @cached_property
    def cache(self) -> Path:
        """This knowledge base's folder in the cache (documents as a corpus, embeddings, sandbox files)."""
        return cache_dir() / "knowledge" / self.fingerprint

    def corpus_file(self) -> Path:
        """The documents as a search corpus (JSONL: ``docid``, ``text``), which the search index caches by.

        Only the content is indexed: what τ²-bench's retrievers index of a document."""
        def write(target: Path) -> None:
            with open(target, "w", encoding="utf-8") as fh:
                for d in self.documents:
                    fh.write(json.dumps({"docid": d.id, "text": d.content}, ensure_ascii=False) + "\n")
        return publish(self.cache / "corpus.jsonl", write)


def _read_document(path: Path) -> KnowledgeDocument:
    raw = read_json(path)
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a document object with {', '.join(DOCUMENT_FIELDS)}")
    missing = [f for f in DOCUMENT_FIELDS if not isinstance(raw.get(f), str)]
    if missing:
        raise DataError(f"{path}: field(s) {', '.join(missing)} missing or not text")
    return KnowledgeDocument(raw["id"], raw["title"], raw["content"])


def publish(target: Path, write: Callable[[Path], None]) -> Path:
    """``target``, made by ``write`` unless it exists: written beside it under a temporary name and renamed,
    so concurrent runs and a crash mid-write never leave a half-made file or folder in its place."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        write(scratch / target.name)
        try:
            os.replace(scratch / target.name, target)
        except OSError:  # a folder another process published first: theirs is as good as ours
            if not target.exists():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target
