"""Search indexes: cached by the corpus's content, rebuilt when damaged, stable, robust to query syntax,
and good enough at retrieval on real HotpotQA questions."""

from __future__ import annotations

import json
import logging
import os
import random
import string
from pathlib import Path

import pytest
from filelock import FileLock

from evalharness.adapters.search.corpus import Document
from evalharness.adapters.search.index import BuildReport, Hit, SearchIndex, open_or_build
from evalharness.errors import DataError
from tests.adapters.search.helpers import (
    BUILTIN_CORPUS,
    HOTPOT_CORPUS,
    HOTPOT_QUESTIONS,
    read_jsonl,
    write_jsonl,
)

BUILTIN_DOCS = read_jsonl(BUILTIN_CORPUS)


@pytest.fixture(scope="module")
def builtin(tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    """The built-in corpus's index, shared by the read-only tests of this module."""
    return open_or_build(BUILTIN_CORPUS, root=tmp_path_factory.mktemp("builtin") / "cache").index


def small_corpus(path: Path, n: int = 300) -> Path:
    return write_jsonl(path, BUILTIN_DOCS[:n])


def answers(index: SearchIndex, docs: list[dict]) -> None:
    """The index finds documents by their title and returns their stored text."""
    for doc in docs[:: max(1, len(docs) // 15)]:
        assert doc["docid"] in [h.docid for h in index.search(doc["title"], 5)], doc["title"]
        assert index.get(doc["docid"]) == Document(doc["docid"], doc["title"], doc["text"])


# --- the cache --------------------------------------------------------------------------------------------


def test_second_build_is_a_cache_hit(cache_root: Path) -> None:
    first = open_or_build(BUILTIN_CORPUS)
    second = open_or_build(BUILTIN_CORPUS)
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert first.index.path == second.index.path
    assert first.index.path.parent == cache_root / "indexes"  # $EVALHARNESS_CACHE
    assert first.index.documents == second.index.documents == 2779
    assert second.seconds * 5 < first.seconds, (first.seconds, second.seconds)
    assert second.size_bytes == first.size_bytes > 0
    meta = json.loads((first.index.path / "meta.json").read_text())
    assert meta["documents"] == 2779 and meta["dense"] is False and meta["corpus"] == str(BUILTIN_CORPUS.resolve())
    assert [p.name for p in (cache_root / "indexes").iterdir()] == [first.index.path.name]  # no temporary left


def test_default_cache_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVALHARNESS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    report = open_or_build(small_corpus(tmp_path / "c.jsonl", 20))
    assert report.index.path.parent == tmp_path / "xdg" / "evalharness" / "indexes"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    report = open_or_build(small_corpus(tmp_path / "c.jsonl", 20))
    assert report.index.path.parent == tmp_path / "home" / ".cache" / "evalharness" / "indexes"
    assert not report.cache_hit


def test_cache_key_follows_content_and_field_mapping(tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path / "c.jsonl", 50)
    base = open_or_build(corpus)
    copy = tmp_path / "elsewhere" / "same.jsonl"
    copy.parent.mkdir()
    copy.write_bytes(corpus.read_bytes())
    moved = open_or_build(copy)  # same bytes under another name: the same index
    assert moved.cache_hit and moved.index.path == base.index.path
    mapped = open_or_build(corpus, {"text": "text"})  # another field mapping: another index
    assert not mapped.cache_hit and mapped.index.path != base.index.path
    rows = BUILTIN_DOCS[:50]
    rows[10] = {**rows[10], "text": rows[10]["text"] + " Amended."}
    changed = open_or_build(write_jsonl(corpus, rows))  # edited in place: a new index, the edit visible
    assert not changed.cache_hit and changed.index.path not in (base.index.path, mapped.index.path)
    assert changed.index.get(rows[10]["docid"]).text.endswith(" Amended.")  # type: ignore[union-attr]


def test_field_mapping_reaches_the_index(tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "c.jsonl", [
        {"pid": f"p{i}", "name": f"Name {i}", "passage": f"passage about quokka{i}"} for i in range(5)])
    index = open_or_build(corpus, {"docid": "pid", "title": "name", "text": "passage"}).index
    assert [h.docid for h in index.search("quokka3", 3)] == ["p3"]
    assert index.get("p3") == Document("p3", "Name 3", "passage about quokka3")


def test_rebuild_forces_a_build(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    docs = BUILTIN_DOCS[:100]
    corpus = small_corpus(tmp_path / "c.jsonl", 100)
    first = open_or_build(corpus)
    with caplog.at_level(logging.WARNING, logger="evalharness.adapters.search.index"):
        again = open_or_build(corpus, rebuild=True)
    assert not again.cache_hit and again.index.path == first.index.path
    assert "damaged" not in caplog.text  # a requested rebuild is not reported as damage
    answers(again.index, docs)
    assert open_or_build(corpus).cache_hit


def _files(path: Path, pattern: str) -> list[Path]:
    found = sorted(path.glob(pattern))
    assert found, pattern
    return found


def _replace(path: Path, data: bytes) -> None:
    """Write a new file over ``path`` (a new inode: never change bytes an open index may have mapped)."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _delete(index_dir: Path, pattern: str) -> None:
    for f in _files(index_dir, pattern):
        f.unlink()


def _garble_footer(index_dir: Path, pattern: str) -> None:
    for f in _files(index_dir, pattern):
        data = bytearray(f.read_bytes())
        for i in range(max(0, len(data) - 64), len(data)):
            data[i] ^= 0xFF
        _replace(f, bytes(data))


def _truncate(index_dir: Path, pattern: str) -> None:
    for f in _files(index_dir, pattern):
        _replace(f, f.read_bytes()[: f.stat().st_size // 2])


def _edit_meta(index_dir: Path, change: dict) -> None:
    meta = json.loads((index_dir / "meta.json").read_text())
    (index_dir / "meta.json").write_text(json.dumps({**meta, **change}))


DAMAGE = {
    "delete-store": lambda d: _delete(d, "bm25/*.store"),
    "delete-idx": lambda d: _delete(d, "bm25/*.idx"),
    "delete-term": lambda d: _delete(d, "bm25/*.term"),
    "delete-fieldnorm": lambda d: _delete(d, "bm25/*.fieldnorm"),
    "delete-tantivy-meta": lambda d: _delete(d, "bm25/meta.json"),
    "delete-bm25-dir": lambda d: __import__("shutil").rmtree(d / "bm25"),
    "garble-store": lambda d: _garble_footer(d, "bm25/*.store"),
    "garble-term": lambda d: _garble_footer(d, "bm25/*.term"),
    "garble-idx": lambda d: _garble_footer(d, "bm25/*.idx"),
    "garble-tantivy-meta": lambda d: _garble_footer(d, "bm25/meta.json"),
    "truncate-store": lambda d: _truncate(d, "bm25/*.store"),
    "truncate-term": lambda d: _truncate(d, "bm25/*.term"),
    "truncate-meta": lambda d: _truncate(d, "meta.json"),
    "empty-meta": lambda d: (d / "meta.json").write_bytes(b""),
    "delete-meta": lambda d: (d / "meta.json").unlink(),
    "meta-wrong-count": lambda d: _edit_meta(d, {"documents": 299}),
    "meta-old-format": lambda d: _edit_meta(d, {"format": 0}),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_index_is_detected_and_rebuilt(tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    docs = BUILTIN_DOCS[:300]
    corpus = small_corpus(tmp_path / "c.jsonl", 300)
    report = open_or_build(corpus)
    index_dir = report.index.path
    del report
    DAMAGE[damage](index_dir)
    with caplog.at_level(logging.WARNING, logger="evalharness.adapters.search.index"):
        rebuilt = open_or_build(corpus)
    assert not rebuilt.cache_hit
    assert rebuilt.index.path == index_dir and rebuilt.index.documents == 300
    assert "incomplete or damaged" in caplog.text and "rebuilding it" in caplog.text
    answers(rebuilt.index, docs)
    assert open_or_build(corpus).cache_hit  # and the rebuilt index is whole


def test_ten_thousand_documents(tmp_path: Path) -> None:
    rng = random.Random(7)
    vocabulary = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(5000)]
    rows = ({"docid": f"s{i:05d}", "title": f"Synthetic {i}",
             "text": " ".join(rng.choices(vocabulary, k=rng.randint(40, 120))) + f" marker{i:05d}"}
            for i in range(10_000))
    corpus = write_jsonl(tmp_path / "big.jsonl", rows)
    report = open_or_build(corpus)
    assert report.index.documents == 10_000 and not report.cache_hit
    assert [h.docid for h in report.index.search("marker04321", 3)] == ["s04321"]
    assert report.index.get("s09999").title == "Synthetic 9999"  # type: ignore[union-attr]
    assert open_or_build(corpus).index.documents == 10_000


def test_empty_corpus_is_an_error_and_leaves_nothing(tmp_path: Path, cache_root: Path) -> None:
    corpus = tmp_path / "empty.jsonl"
    corpus.write_text("\n\n")
    with pytest.raises(DataError, match=f"corpus {corpus} has no documents"):
        open_or_build(corpus)
    assert list((cache_root / "indexes").iterdir()) == []


def test_bad_corpus_fails_the_build_with_its_line(tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "c.jsonl", [{"docid": "a", "text": "x"}, {"docid": "b", "text": "y"},
                                               {"docid": "a", "text": "z"}])
    with pytest.raises(DataError, match=f"{corpus}:3: duplicate document id 'a' \\(first on line 1\\)"):
        open_or_build(corpus)
    with pytest.raises(DataError, match="No such file or directory"):
        open_or_build(tmp_path / "missing.jsonl")


# --- queries ----------------------------------------------------------------------------------------------


def _ranking(hits: list[Hit]) -> list[tuple[str, float]]:
    return [(h.docid, h.score) for h in hits]


QUERIES = ["Zautremen Kemesk studied", "Kraugak University founded", "river city population", "Vrerlostholt"]


def test_results_are_stable(builtin: SearchIndex) -> None:
    first = {q: _ranking(builtin.search(q, 10)) for q in QUERIES}
    assert all(len(r) == 10 for r in first.values())
    assert {q: _ranking(builtin.search(q, 10)) for q in QUERIES} == first
    reopened = SearchIndex(builtin.path, builtin.meta)  # another process opening the same index
    assert {q: _ranking(reopened.search(q, 10)) for q in QUERIES} == first
    via_cache = open_or_build(BUILTIN_CORPUS, root=builtin.path.parent.parent)
    assert via_cache.cache_hit
    assert {q: _ranking(via_cache.index.search(q, 10)) for q in QUERIES} == first
    assert first["Zautremen Kemesk studied"][0][0] == "fw-00284"
    scores = [s for _, s in first["river city population"]]
    assert scores == sorted(scores, reverse=True)


def test_k_limits_the_results(builtin: SearchIndex) -> None:
    full = _ranking(builtin.search("river city population", 20))
    for k in (1, 3, 7):
        assert _ranking(builtin.search("river city population", k)) == full[:k]


@pytest.mark.parametrize("query", [
    '"Zautremen Kemesk', 'Zautremen Kemesk"', '"Zautremen" "Kemesk"', "title:Zautremen Kemesk", "docid:fw-00284 Kemesk",
    "Zautremen: Kemesk:", "Zautremen AND Kemesk", "Zautremen OR Kemesk", "Zautremen AND OR NOT Kemesk",
    "(Zautremen Kemesk", "Zautremen) (Kemesk))", "Zautremen [Kemesk TO", "{Zautremen} Kemesk^2", "Zautremen~ Kemesk*",
    "+Zautremen -Kemesk", "Zautremen\\ Kemesk/", "Zautremen ! Kemesk ?", "Zautremen && Kemesk || x",
    "Zautremen title: IN [a b] Kemesk", "Zautremen text:>5 Kemesk", "'Zautremen' Kemesk", "Zautremen Kemesk\x00",
], ids=lambda q: q.encode("unicode_escape").decode())
def test_query_syntax_never_raises(builtin: SearchIndex, query: str) -> None:
    hits = builtin.search(query, 5)
    assert len(hits) in range(1, 6)
    assert "fw-00284" in [h.docid for h in hits]  # the words still count


@pytest.mark.parametrize("query", ['"', ":", "AND", "OR NOT", "()", "*", "^~", "\\", "   ", "", "[]{}", "- +", "AND OR"])
def test_pure_syntax_queries_find_nothing(builtin: SearchIndex, query: str) -> None:
    assert builtin.search(query, 5) == []


def test_random_syntax_soup_never_raises(builtin: SearchIndex) -> None:
    rng = random.Random(20251122)
    pieces = [*string.punctuation, " ", "AND", "OR", "NOT", "TO", "IN", "title:", "text:", "docid:", "Kemesk",
              "river", "é", "中", "\t", "\n", "1e309", "NaN"]
    for _ in range(3000):
        query = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        hits = builtin.search(query, 5)
        assert len(hits) <= 5


def test_get(builtin: SearchIndex) -> None:
    doc = BUILTIN_DOCS[283]
    assert builtin.get("fw-00284") == Document(doc["docid"], doc["title"], doc["text"])
    for unknown in ("fw-99999", "FW-00284", "fw-0028", "", "fw-00284 ", '"fw-00284"', "*"):
        assert builtin.get(unknown) is None


def test_dense_search_needs_a_dense_index(builtin: SearchIndex) -> None:
    for retriever in ("dense", "hybrid"):
        with pytest.raises(DataError, match="evalharness index build --retriever dense"):
            builtin.search("Kemesk", 5, retriever)  # type: ignore[arg-type]


# --- retrieval quality on real HotpotQA questions ---------------------------------------------------------

HOTPOT = read_jsonl(HOTPOT_QUESTIONS)


def evidence_in_top5(index: SearchIndex, retriever: str) -> tuple[int, int]:
    """(questions with at least one evidence paragraph in the top 5, questions with all of them there),
    the question itself as the query."""
    anyone = every = 0
    for q in HOTPOT:
        top = {h.docid for h in index.search(q["question"], 5, retriever)}  # type: ignore[arg-type]
        evidence = set(q["evidence_doc_ids"])
        anyone += bool(evidence & top)
        every += evidence <= top
    return anyone, every


def test_bm25_finds_hotpotqa_evidence() -> None:
    index = open_or_build(HOTPOT_CORPUS).index
    assert index.documents == 989 and len(HOTPOT) == 100
    anyone, every = evidence_in_top5(index, "bm25")
    # Measured: 98/100 questions have an evidence paragraph in the top 5; 59/100 have both.
    assert anyone / len(HOTPOT) >= 0.9, anyone
    assert every / len(HOTPOT) >= 0.5, every


@pytest.fixture(scope="session")
def dense_hotpot(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> BuildReport:
    """The HotpotQA corpus embedded with MiniLM on CPU (minutes on a loaded machine): built once per test
    session, under a lock, in a cache root shared by the xdist workers of this session only."""
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent
    with FileLock(str(shared / "dense-hotpot.lock")):
        return open_or_build(HOTPOT_CORPUS, retriever="dense", root=shared / "dense-hotpot-cache")


def test_dense_index_on_disk(dense_hotpot: BuildReport) -> None:
    import numpy as np

    path = dense_hotpot.index.path
    meta = json.loads((path / "meta.json").read_text())
    assert meta["dense"] is True and meta["documents"] == 989
    vectors = np.load(path / "dense.npy")
    assert vectors.shape == (989, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert sorted(json.loads((path / "dense_ids.json").read_text())) == sorted(d["doc_id"] for d in read_jsonl(HOTPOT_CORPUS))
    again = open_or_build(HOTPOT_CORPUS, retriever="dense", root=path.parent.parent)
    assert again.cache_hit and again.index.path == path
    assert open_or_build(HOTPOT_CORPUS, retriever="bm25", root=path.parent.parent).cache_hit  # serves BM25 too


def test_dense_finds_hotpotqa_evidence(dense_hotpot: BuildReport) -> None:
    anyone, every = evidence_in_top5(dense_hotpot.index, "dense")
    # Measured: 100/100 questions have an evidence paragraph in the top 5 (63/100 have both).
    assert anyone / len(HOTPOT) >= 0.95, anyone
    assert every / len(HOTPOT) >= 0.55, every


def test_hybrid_finds_hotpotqa_evidence(dense_hotpot: BuildReport) -> None:
    hits = dense_hotpot.index.search(HOTPOT[0]["question"], 5, "hybrid")
    assert len(hits) == 5 and len({h.docid for h in hits}) == 5
    assert all(0 < h.score <= 2 / 61 for h in hits)  # reciprocal-rank-fusion scores
    anyone, every = evidence_in_top5(dense_hotpot.index, "hybrid")
    # Measured: 100/100 questions have an evidence paragraph in the top 5 (63/100 have both).
    assert anyone / len(HOTPOT) >= 0.95, anyone
    assert every / len(HOTPOT) >= 0.55, every


def test_possessives_in_queries_still_match(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"docid": "d1", "title": "Kemesk", "text": "Zautremen Kemesk founded the university."}\n'
                      '{"docid": "d2", "title": "Other", "text": "Nothing relevant here at all."}\n')
    index = open_or_build(corpus, root=tmp_path / "cache").index
    assert [h.docid for h in index.search("Zautremen Kemesk's university", 1)] == ["d1"]
    assert [h.docid for h in index.search("Kemesk’s", 1)] == ["d1"]


def test_a_failed_build_leaves_no_temporary_folder(tmp_path: Path) -> None:
    corpus = tmp_path / "dup.jsonl"
    corpus.write_text('{"docid": "a", "text": "x"}\n{"docid": "a", "text": "y"}\n')
    with pytest.raises(DataError, match="duplicate document id"):
        open_or_build(corpus, root=tmp_path / "cache")
    assert list((tmp_path / "cache" / "indexes").iterdir()) == []
