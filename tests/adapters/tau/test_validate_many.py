"""``tau validate`` over several domains in one command: every domain of a copy of τ²-bench's data
(``--tau2-data``), repeated ``--domain-dir``s, or both; one summary line per domain and one for all."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.adapters.tau.test_adapter import assert_one_line_error
from tests.adapters.tau.test_evaluator import BIKESHOP, TASK, evalharness
from tests.adapters.tau.test_replay_states import PINNED
from tests.adapters.tau.test_tau3_suite import DATA, checkout_layout

# base split; banking_knowledge has no split file and is checked whole; mock's two user-side tasks and
# fifteen of retail's fail in τ²-bench's own data too
COUNTS = {"airline": "50/50", "banking_knowledge": "97/97", "mock": "8/10", "retail": "99/114",
          "telecom": "114/114"}


def test_one_command_checks_every_domain_of_tau2_data(tmp_path: Path) -> None:
    proc = evalharness(tmp_path, "tau", "validate", "--tau2-data", str(DATA), "--split", "base", timeout=900)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the known failures
    summaries = [line for line in proc.stdout.splitlines() if "tasks replay their gold actions cleanly" in line]
    assert summaries == [f"{DATA / name}: {count} tasks replay their gold actions cleanly"
                         for name, count in COUNTS.items()] + [
        "5 domains: 368/385 tasks replay their gold actions cleanly"]
    assert "task 105: 106_0: Insufficient gift card balance" in proc.stdout


def test_several_domains_dump_their_states_one_folder_each(tmp_path: Path) -> None:
    data = checkout_layout(tmp_path, ("mock",))
    out = tmp_path / "states"
    proc = evalharness(tmp_path, "tau", "validate", "--domain-dir", str(BIKESHOP), "--tau2-data", str(data),
                       "--dump-states", str(out))
    assert proc.returncode == 1, proc.stdout + proc.stderr  # mock's two
    assert sorted(p.name for p in out.iterdir()) == ["bikeshop", "mock"]
    assert sorted(p.name for p in (out / "bikeshop").iterdir()) == sorted(f"{t}.json" for t in TASK)
    mock = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (out / "mock").iterdir()}
    assert len(mock) == PINNED["mock"].tasks
    assert {name: mock[name] for name in PINNED["mock"].files} == PINNED["mock"].files
    assert f"{data / 'domains' / 'mock'}: 8/10 tasks replay their gold actions cleanly; states written to " \
           f"{out / 'mock'}" in " ".join(proc.stdout.split())
    assert "2 domains: 49/51 tasks replay their gold actions cleanly" in proc.stdout


def test_a_missing_data_folder_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    assert_one_line_error(evalharness(tmp_path, "tau", "validate", "--tau2-data", str(missing)),
                          str(missing), "does not exist")


def test_a_data_folder_without_any_known_domain_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert_one_line_error(evalharness(tmp_path, "tau", "validate", "--tau2-data", str(tmp_path / "empty")),
                          str(tmp_path / "empty"), "no domain directory of airline, banking_knowledge")
