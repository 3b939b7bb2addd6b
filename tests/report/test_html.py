"""The HTML report: opened in real headless Chromium (loads, no console errors, charts render, untrusted text
stays inert), the size budget, the lazily decoded data, and the reporter's one-way dependency on the store."""

from __future__ import annotations

import base64
import gzip
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest

from evalharness.report.html import write_report
from tests.report.chromium import open_page
from tests.report.simulate import Domain, result, simulate_pair, write_run

PWN = "document.documentElement.setAttribute('data-pwned','{}')"
PAYLOAD = (f"<script>{PWN.format('script')}</script><img src=x onerror=\"{PWN.format('img')}\">"
           f"<svg onload=\"{PWN.format('svg')}\"></svg></script><script>{PWN.format('breakout')}</script>")


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.types: list[str | None] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.types.append(dict(attrs).get("type"))
        self.handlers += [k for k, _ in attrs if k.startswith("on")]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("runs")
    base, cand = simulate_pair([Domain("math", 300, 0.7, -0.15, 0.8), Domain("search", 300, 0.5, 0.15, 0.8),
                                Domain("tau", 300, 0.6, 0.0, 0.8)], seed=3)
    base[0] = result("math", "s0", 1.0)
    cand[0] = result("math", "s0", 0.0, text="answer " + PAYLOAD, tool_output=PAYLOAD,
                     details={"extracted": PAYLOAD, PAYLOAD: 1})
    cand[1] = result("math", "s1", None, error="sandbox died: " + PAYLOAD)
    return write_run(root, base), write_run(root, cand, model="scripted:" + PAYLOAD)


def test_comparison_report_loads_in_chromium_with_charts_and_no_errors(pair: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    info = write_report(list(pair), out)
    assert info.bytes == out.stat().st_size and info.samples == 900
    page = open_page(out)
    assert page.console == [], page.console
    assert page.attr("ready") == "1" and page.attr("load-ms") is not None
    assert page.attr("js-errors") is None
    svgs = re.findall(r"<svg\b[^>]*class=\"chart ([a-z]+)", page.dom)
    assert svgs.count("trend") == 3 and svgs.count("forest") == 1
    assert page.dom.count("<circle") >= 6 and page.dom.count("<rect") >= 3
    assert "Verdict: SEESAW" in page.dom
    assert 'class="sig-down"' in page.dom and 'class="sig-up"' in page.dom
    # no network: the policy forbids every source but the report's own script (by hash)
    assert "default-src 'none'" in out.read_text()
    assert "http://" not in out.read_text().replace("http://www.w3.org/2000/svg", "")


def test_untrusted_text_stays_inert(pair: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    write_report(list(pair), out)
    for sample in ("math/s0", "math/s1"):
        page = open_page(out, f"#domain=math&sample={quote(sample)}")
        assert page.console == [], page.console
        assert page.attr("detail-rendered") == sample
        assert page.attr("pwned") is None
        assert "data-pwned=\"" not in page.dom
        parser = _Scripts()
        parser.feed(page.dom)
        # only the report's own script runs; everything else is an inert data block
        assert [t for t in parser.types if t != "application/octet-stream"] == [None]
        assert parser.handlers == []
        assert "&lt;script&gt;document.documentElement.setAttribute('data-pwned','script')&lt;/script&gt;" in page.dom
    assert "sandbox died: &lt;script&gt;" in page.dom  # the error message, as text


def test_filters_regressed_samples(pair: tuple[Path, Path], tmp_path: Path) -> None:
    from evalharness.report.load import load_scores

    out = tmp_path / "report.html"
    write_report(list(pair), out)
    a, b = (load_scores(p).samples for p in pair)
    broken = sum(1 for k, s in a.items() if k[0] == "math" and s.mean == 1.0 and b[k].mean is not None
                 and b[k].mean < 1.0)
    fixed = sum(1 for k, s in a.items() if k[0] == "math" and s.mean is not None and s.mean < 1.0
                and b[k].mean == 1.0)
    assert broken > fixed > 0
    page = open_page(out, "#domain=math&change=broken")
    assert page.attr("list-rendered") == str(broken)
    page = open_page(out, "#domain=math&change=fixed")
    assert page.attr("list-rendered") == str(fixed)
    page = open_page(out, "#domain=math&outcome=error")
    assert page.attr("list-rendered") == "1"


def test_single_run_and_trend_reports(tmp_path: Path) -> None:
    import random

    rng = random.Random(4)
    latent = {i: rng.random() for i in range(300)}
    paths = []
    for acc in (0.7, 0.72, 0.5):
        paths.append(write_run(tmp_path, [result("math", f"s{i}", 1.0 if (latent[i] if rng.random() < 0.85
                                                                           else rng.random()) < acc else 0.0)
                                          for i in range(300)]
                               + [result("search", f"q{i}", 1.0 if i % 3 else 0.0, secondary={"evidence_recall": 0.5})
                                  for i in range(50)]))
    single = tmp_path / "single.html"
    write_report(paths[:1], single)
    page = open_page(single)
    assert page.console == [] and page.attr("ready") == "1"
    assert 'class="chart dotplot"' in page.dom
    assert "evidence_recall" in page.dom and "Methods" in page.dom
    three = tmp_path / "three.html"
    write_report(paths, three)
    page = open_page(three)
    assert page.console == [] and page.attr("ready") == "1"
    assert re.search(r"<strong>math</strong> first regressed at #3", page.dom)
    assert page.dom.count('class="chart trend"') == 2
    assert "Step #3 vs #2" in page.dom


def test_small_runs_show_honest_intervals_and_mde(tmp_path: Path) -> None:
    run = write_run(tmp_path, [result("math", "s0", 0.0), result("math", "s1", 0.0)])
    single = tmp_path / "single.html"
    write_report([run], single)
    html = single.read_text(encoding="utf-8")
    assert "Wilson 95% CI · n" in html and "Korn–Graubard" in html  # labelled, and explained under Methods
    assert '[0.000, 0.658] · 2' in html
    assert '<td class="num">1.000</td>' in html and '<td class="num">0.000</td>' not in html  # the MDE
    again = write_run(tmp_path, [result("math", "s0", 0.0), result("math", "s1", 0.0)])
    both = tmp_path / "both.html"
    write_report([run, again], both)
    html = both.read_text(encoding="utf-8")
    assert "[-1.000, +1.000]" in html and "[+0.000, +0.000]" not in html


def test_size_budget_cuts_transcripts_and_keeps_changed_samples(tmp_path: Path) -> None:
    import random

    rng = random.Random(1)
    words = [f"w{i}" for i in range(5000)]

    def text(n: int) -> str:
        return " ".join(rng.choices(words, k=n))

    base = [result("math", f"s{i}", 1.0 if i % 2 else 0.0, text=text(1500), tool_output=text(800)) for i in range(400)]
    cand = [result("math", f"s{i}", 1.0 if i % 2 or i < 20 else 0.0, text=text(1500), tool_output=text(800))
            for i in range(400)]
    a, b = write_run(tmp_path, base), write_run(tmp_path, cand)
    out = tmp_path / "small.html"
    info = write_report([a, b], out, budget=700_000)
    assert info.bytes <= 700_000
    html = out.read_text()
    assert info.truncated_note and "To keep the report small" in html
    # every changed sample (s0, s2, ..., s18) keeps its record in both runs
    meta, index = _decode(html)
    changed = [i for i, sid in enumerate(index["id"]) if sid in {f"s{k}" for k in range(0, 20, 2)}]
    assert len(changed) == 10
    assert all(index["l"][r][i] is not None and index["l"][r][i] >= 0 for r in (0, 1) for i in changed)
    page = open_page(out, "#domain=math&sample=math%2Fs2")
    assert page.console == [] and page.attr("detail-rendered") == "math/s2"
    assert "characters cut to keep the report small" in page.dom or "transcript left out" in page.dom


def _decode(html: str) -> tuple[dict, dict]:
    def block(name: str) -> bytes:
        m = re.search(rf'<script type="application/octet-stream" id="{name}">([^<]*)</script>', html)
        assert m, name
        return base64.b64decode(m.group(1))

    return json.loads(block("eh-meta")), json.loads(gzip.decompress(block("eh-index-0")))


def test_embedded_data_is_compressed_and_complete(pair: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    write_report(list(pair), out)
    html = out.read_text()
    meta, index = _decode(html)
    assert [d["name"] for d in meta["domains"]] == ["math", "search", "tau"]
    assert [r["label"] for r in meta["runs"]] == ["A", "B"]
    assert len(index["id"]) == 300 and index["id"][:3] == ["s0", "s1", "s2"]  # natural order
    assert index["s"][1][0] == 0.0 and index["x"][1][1] == 1  # s0 failed in B, s1 errored in B
    chunk = re.search(r'id="eh-chunk-1-0">([^<]*)<', html)
    assert chunk
    records = json.loads(gzip.decompress(base64.b64decode(chunk.group(1))))
    first = records[index["l"][1][0]]
    assert first["m"][-1]["c"].startswith("answer <script>")  # raw in the data, escaped only when shown
    assert first["s"][0]["n"] == "accuracy"


def test_names_are_escaped_in_the_static_page(tmp_path: Path) -> None:
    evil = "<b>dom</b>"
    a = write_run(tmp_path, [result("t", f"s{i}", float(i % 2), domain=evil) for i in range(10)])
    out = tmp_path / "r.html"
    write_report([a], out, title="<i>title</i>")
    html = out.read_text()
    assert "<b>dom</b>" not in html and "&lt;b&gt;dom&lt;/b&gt;" in html
    assert "<i>title</i>" not in html


def test_reporter_imports_nothing_from_runner_models_sandboxes_or_adapters() -> None:
    code = ("import sys; import evalharness.report.html, evalharness.report.compare, evalharness.report.formats, "
            "evalharness.report_cli; "
            "bad = [m for m in sys.modules if m.split('.')[:2] in (['evalharness', 'runner'], ['evalharness', 'models'], "
            "['evalharness', 'sandboxes'], ['evalharness', 'adapters'], ['evalharness', 'agent'], "
            "['evalharness', 'tools'], ['evalharness', 'display'])]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
