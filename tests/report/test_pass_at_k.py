"""pass@k: the unbiased estimator against hand-computed values, and its use in per-domain summaries."""

from __future__ import annotations

import math

import pytest

from evalharness.report.aggregate import summarize_by_domain
from evalharness.report.stats import pass_at_k
from evalharness.types import Episode, SampleError, SampleResult, Score


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (5, 2, 1, 0.4),  # k=1 is the plain success rate c/n
        (5, 2, 3, 0.9),  # 1 - C(3,3)/C(5,3) = 1 - 1/10
        (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (10, 3, 2, 1 - 21 / 45),  # 1 - C(7,2)/C(10,2)
        (4, 1, 4, 1.0),  # n-c = 3 < k = 4: every draw of 4 contains the success
        (5, 3, 3, 1.0),  # n-c = 2 < 3
        (5, 0, 1, 0.0),
        (5, 0, 5, 0.0),
        (1, 0, 1, 0.0),
        (1, 1, 1, 1.0),
        (5, 5, 1, 1.0),
        (3, 1, 2, 2 / 3),  # 1 - C(2,2)/C(3,2) = 1 - 1/3
    ],
)
def test_pass_at_k_hand_computed(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_1_is_the_success_rate() -> None:
    for n in range(1, 8):
        for c in range(n + 1):
            assert pass_at_k(n, c, 1) == pytest.approx(c / n)


def test_pass_at_k_grows_with_k() -> None:
    values = [pass_at_k(10, 2, k) for k in range(1, 11)]
    assert all(a < b for a, b in zip(values[:-2], values[1:-1], strict=True))
    assert values[-1] == 1.0


@pytest.mark.parametrize(("n", "k"), [(3, 4), (1, 2), (0, 1), (5, 0), (5, -1)])
def test_pass_at_k_needs_k_between_1_and_n(n: int, k: int) -> None:
    with pytest.raises(ValueError, match=f"pass@{k} needs at least {k} attempts, got {n}"):
        pass_at_k(n, 0, k)


# --- summarize_by_domain -------------------------------------------------------------------------------


def result(sample_id: str, epoch: int, value: float | None, domain: str = "math", task: str = "t",
           error: bool = False) -> SampleResult:
    return SampleResult(
        task=task, sample_id=sample_id, epoch=epoch, domain=domain, target=None, episode=Episode(),
        scores=[] if value is None else [Score(value, domain, "accuracy")],
        error=SampleError("model_error:http_500", "boom") if error else None,
        started_at=0.0, duration=0.0,
    )


def results_for(domain: str, outcomes: dict[str, list[float]], task: str = "t") -> list[SampleResult]:
    return [result(sid, e + 1, v, domain, task)
            for sid, values in outcomes.items() for e, v in enumerate(values)]


def test_pass_at_k_over_samples_with_epochs() -> None:
    # 3 samples x 4 epochs: pass@4 per sample is 1 if any epoch succeeded
    [s] = summarize_by_domain(results_for("math", {"a": [1, 0, 0, 0], "b": [0, 0, 0, 0], "c": [1, 1, 1, 1]}))
    assert s.epochs == 4 and s.results == 12
    assert s.pass_at_k is not None
    assert s.pass_at_k.mean == pytest.approx(2 / 3)
    assert s.pass_at_k.n == 3
    # SE of [1, 0, 1]: s = sqrt(1/3), SE = s / sqrt(3) = 1/3
    assert s.pass_at_k.se == pytest.approx(1 / 3)
    assert s.score.mean == pytest.approx((0.25 + 0 + 1) / 3)


def test_pass_at_k_uses_the_smallest_epoch_count() -> None:
    # a: 3 attempts, 1 success -> pass@2 = 1 - C(2,2)/C(3,2) = 2/3; b: 2 attempts, 0 successes -> 0
    [s] = summarize_by_domain(results_for("math", {"a": [0, 1, 0], "b": [0, 0]}))
    assert s.epochs == 2
    assert s.pass_at_k is not None
    assert s.pass_at_k.mean == pytest.approx((2 / 3 + 0) / 2)
    values = [2 / 3, 0.0]
    sd = math.sqrt(sum((v - 1 / 3) ** 2 for v in values) / 1)
    assert s.pass_at_k.se == pytest.approx(sd / math.sqrt(2))


def test_partial_scores_are_not_successes() -> None:
    [s] = summarize_by_domain(results_for("math", {"a": [0.5, 0.99], "b": [1.0, 0.5]}))
    assert s.pass_at_k is not None
    assert s.pass_at_k.mean == pytest.approx(0.5)  # only b ever scored 1
    assert s.score.mean == pytest.approx((0.745 + 0.75) / 2)


def test_errored_epochs_do_not_count_as_attempts() -> None:
    rs = results_for("math", {"a": [0, 1, 0], "b": [1, 0, 0]})
    rs.append(result("b", 4, None, error=True))
    [s] = summarize_by_domain(rs)
    assert s.errors == 1 and s.results == 7
    assert s.epochs == 3
    assert s.pass_at_k is not None
    assert s.pass_at_k.mean == pytest.approx(1.0)  # pass@3 from 3 attempts with 1 success each


def test_single_epoch_has_no_pass_at_k() -> None:
    [s] = summarize_by_domain(results_for("math", {"a": [1], "b": [0]}))
    assert s.epochs == 1
    assert s.pass_at_k is None
    [s] = summarize_by_domain([result("a", 1, None, error=True)])
    assert s.epochs == 0 and s.pass_at_k is None


def test_pass_at_k_per_domain_and_task() -> None:
    rs = results_for("math", {"a": [0, 0], "b": [0, 1]}) + results_for("code", {"a": [1, 1]}, task="u")
    rs += results_for("math", {"a": [1, 0]}, task="other")  # same id in another task: another sample
    by_domain = {s.domain: s for s in summarize_by_domain(rs)}
    assert [*by_domain] == ["code", "math"]
    code, math_ = by_domain["code"], by_domain["math"]
    assert code.pass_at_k is not None and code.pass_at_k.mean == 1.0 and code.pass_at_k.n == 1
    assert code.pass_at_k.se is None  # one sample: no error bar
    assert math_.pass_at_k is not None and math_.pass_at_k.n == 3
    assert math_.pass_at_k.mean == pytest.approx(2 / 3)  # (t,a): 0, (t,b): 1, (other,a): 1
