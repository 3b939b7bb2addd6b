"""What a run's score cost: tokens, calls, latency, wall time and dollars per sample, per domain.

Costs are counted over the sample-epochs that were scored, the samples behind the score, so that a cost per
point of score divides like by like (an errored sample is in neither). As for scores, a sample is the unit:
its epochs are averaged first. Means get Student's t intervals (costs have no bound that Wilson's interval
could use); a cost per point of score is a ratio of two means, whose interval comes from the delta method.
Prices are dollars per million input and output tokens: a table (``--prices``, TOML or JSON, by model) and
the ``price_input``/``price_output`` keys of the run's recorded ``--model-args``, which take precedence.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalharness.errors import ConfigError
from evalharness.report.compare import fmt_p
from evalharness.report.load import Cluster, RunData, load_scores
from evalharness.report.stats import Estimate, holm_bonferroni, mean_and_se, t_sf
from evalharness.types import SampleResult

OVERALL = "overall"
# what a frontier or a cost gate can put on the cost axis: name -> what one sample-epoch costs
COST_METRICS = ("tokens", "latency", "dollars")
COST_LABELS = {"tokens": "tokens per sample", "latency": "model seconds per sample", "dollars": "$ per sample"}
PRICE_KEYS = {"price_input": "input", "price_output": "output"}  # as in models.base (the report imports no model)


@dataclass(frozen=True, slots=True)
class Price:
    """Dollars per million tokens."""

    input: float
    output: float

    def dollars(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1e6


@dataclass(frozen=True, slots=True)
class SampleCost:
    """One scored sample-epoch's cost."""

    input_tokens: int
    output_tokens: int
    model_calls: int
    tool_calls: int
    model_time: float
    wall_time: float

    @classmethod
    def of(cls, r: SampleResult) -> SampleCost:
        e = r.episode
        return cls(e.usage.input_tokens, e.usage.output_tokens, e.model_calls, len(e.tool_log), e.model_time,
                   r.duration)


@dataclass(frozen=True, slots=True)
class DomainCost:
    domain: str
    samples: int  # scored samples (clusters)
    input_tokens: Estimate  # each: mean per sample, t interval
    output_tokens: Estimate
    model_calls: Estimate
    tool_calls: Estimate
    tokens: Estimate  # input + output
    latency: Estimate  # model seconds per sample
    latency_p50: float | None  # the same: median and 95th percentile over samples
    latency_p95: float | None
    wall: Estimate  # seconds per sample, tools and waits included
    dollars: Estimate | None  # None without a price
    dollars_per_point: Estimate | None  # $ per sample / (100 × score): what a point of score costs

    def metric(self, name: str) -> Estimate | None:
        """The cost a frontier or a gate reads: mean tokens, model seconds or dollars per sample."""
        return {"tokens": self.tokens, "latency": self.latency, "dollars": self.dollars}[name]


# ------------------------------------------------------------------------------------------------ prices


def load_prices(path: Path) -> dict[str, Price]:
    """A price table: ``{MODEL: {input: $/M, output: $/M}}`` in TOML or JSON (by the file's suffix; JSON
    otherwise). MODEL is a model string (``openai:gpt-4o``) or a bare name that matches any backend."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"--prices {path}: {e.strerror}") from None
    try:
        data = json.loads(text) if path.suffix.lower() != ".toml" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"--prices {path}: not valid {'TOML' if path.suffix.lower() == '.toml' else 'JSON'} "
                          f"({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--prices {path}: expected a table of models, each with input and output prices")
    return {str(model): _price(path, str(model), entry) for model, entry in data.items()}


def _price(path: Path, model: str, entry: Any) -> Price:
    if not isinstance(entry, dict):
        raise ConfigError(f"--prices {path}: {model}: expected input and output ($ per million tokens)")
    values = []
    for key in ("input", "output"):
        value = entry.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or not math.isfinite(value):
            raise ConfigError(f"--prices {path}: {model}: {key} must be a non-negative number of dollars per "
                              f"million tokens (got {value!r})")
        values.append(float(value))
    return Price(*values)


def recorded_prices(model_args: str | None) -> dict[str, float]:
    """The price keys of a run's recorded ``--model-args`` (checked when the run started)."""
    found = {}
    for part in (model_args or "").split(","):
        key, _, raw = (s.strip() for s in part.partition("="))
        if key in PRICE_KEYS:
            found[PRICE_KEYS[key]] = float(raw)
    return found


def price_for(model: str, model_args: str | None, table: dict[str, Price]) -> Price | None:
    """A run's price: its own price keys over the table's entry for its model (a price key not given and not
    in the table counts as 0); None when neither says anything."""
    base = table.get(model) or table.get(model.partition(":")[2])
    own = recorded_prices(model_args)
    if base is None and not own:
        return None
    start = base or Price(0.0, 0.0)
    return Price(own.get("input", start.input), own.get("output", start.output))


def run_price(run: RunData, table: dict[str, Price]) -> Price | None:
    config = run.manifest.get("config") or {}
    model_args = config.get("model_args") if isinstance(config, dict) else None
    return price_for(run.model, model_args if isinstance(model_args, str) else None, table)


# ------------------------------------------------------------------------------------------- estimators


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile with linear interpolation between order statistics (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio_estimate(numerators: Sequence[float], denominators: Sequence[float]) -> Estimate | None:
    """R = x̄ / ȳ over paired per-sample values, with the delta-method SE = s_d / (√n · ȳ), s_d the SD of
    dᵢ = xᵢ − R·yᵢ; its interval is Student's t. None when ȳ = 0 (no ratio to speak of)."""
    n = len(numerators)
    if n == 0:
        return None
    mean_y = math.fsum(denominators) / n
    if mean_y == 0.0:
        return None
    ratio = math.fsum(numerators) / n / mean_y
    if n < 2:
        return Estimate(ratio, None, n)
    residuals = [x - ratio * y for x, y in zip(numerators, denominators, strict=True)]
    sd = math.sqrt(math.fsum(d * d for d in residuals) / (n - 1))
    return Estimate(ratio, sd / (math.sqrt(n) * abs(mean_y)), n)


# ---------------------------------------------------------------------------------------- per-sample costs


def results_of(run: RunData) -> list[SampleResult]:
    """The run's (light) results, read again when it was loaded with scores only."""
    if run.results is not None:
        return run.results
    return load_scores(run.path, run.role).results or []


def sample_costs(run: RunData) -> dict[Cluster, list[SampleCost]]:
    """Per (task, sample_id): the cost of each scored epoch."""
    out: dict[Cluster, list[SampleCost]] = defaultdict(list)
    for r in results_of(run):
        if r.error is None and r.scores:
            out[(r.task, r.sample_id)].append(SampleCost.of(r))
    return out


def _per_sample(epochs: list[SampleCost], value: Callable[[SampleCost], float]) -> float:
    return math.fsum(value(c) for c in epochs) / len(epochs)


def metric_value(name: str, price: Price | None) -> Callable[[SampleCost], float]:
    """One sample-epoch's cost in the metric ``name``."""
    if name == "tokens":
        return lambda c: float(c.input_tokens + c.output_tokens)
    if name == "latency":
        return lambda c: c.model_time
    if name == "dollars":
        if price is None:
            raise ConfigError("dollars need prices: pass --prices FILE or record price_input/price_output in "
                              "--model-args")
        return lambda c: price.dollars(c.input_tokens, c.output_tokens)
    raise ConfigError(f"unknown cost {name!r}; one of {', '.join(COST_METRICS)}")


def cost_by_domain(run: RunData, price: Price | None) -> list[DomainCost]:
    """One cost summary per domain (sorted), then the run's overall one (every scored sample alike)."""
    costs = sample_costs(run)
    domains: dict[str, list[Cluster]] = defaultdict(list)
    for key in costs:
        domains[run.samples[key].domain].append(key)
    out = [_domain_cost(name, keys, costs, run, price) for name, keys in sorted(domains.items())]
    if out:
        out.append(_domain_cost(OVERALL, list(costs), costs, run, price))
    return out


def _domain_cost(name: str, keys: list[Cluster], costs: dict[Cluster, list[SampleCost]], run: RunData,
                 price: Price | None) -> DomainCost:
    def mean_of(value: Callable[[SampleCost], float]) -> Estimate:
        return mean_and_se([_per_sample(costs[k], value) for k in keys])

    latencies = [_per_sample(costs[k], lambda c: c.model_time) for k in keys]
    dollars = per_point = None
    if price is not None:
        spent = [_per_sample(costs[k], lambda c: price.dollars(c.input_tokens, c.output_tokens)) for k in keys]
        dollars = mean_and_se(spent)
        per_point = ratio_estimate(spent, [100.0 * (run.samples[k].mean or 0.0) for k in keys])
    return DomainCost(
        domain=name, samples=len(keys),
        input_tokens=mean_of(lambda c: c.input_tokens), output_tokens=mean_of(lambda c: c.output_tokens),
        model_calls=mean_of(lambda c: c.model_calls), tool_calls=mean_of(lambda c: c.tool_calls),
        tokens=mean_of(lambda c: c.input_tokens + c.output_tokens), latency=mean_and_se(latencies),
        latency_p50=percentile(latencies, 0.5), latency_p95=percentile(latencies, 0.95),
        wall=mean_of(lambda c: c.wall_time), dollars=dollars, dollars_per_point=per_point)


# ------------------------------------------------------------------------------------ paired costs, gate


@dataclass(frozen=True, slots=True)
class PairedCost:
    """Candidate against baseline on the samples scored in both: mean cost per sample of each and their ratio."""

    domain: str
    metric: str
    n: int
    baseline: float
    candidate: float
    ratio: Estimate  # candidate / baseline (delta-method SE over the pairs)


def paired_costs(base: RunData, cand: RunData, metric: str, prices: dict[str, Price] | None = None,
                 domains: Iterable[str] | None = None, *, overall: bool = False) -> list[PairedCost]:
    """Per domain (the baseline's), and with ``overall`` over every sample too: the cost ratio over samples
    scored in both runs."""
    table = prices or {}
    value_a = metric_value(metric, run_price(base, table) if metric == "dollars" else None)
    value_b = metric_value(metric, run_price(cand, table) if metric == "dollars" else None)
    a, b = sample_costs(base), sample_costs(cand)
    by_domain: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for key in sorted(a.keys() & b.keys()):
        pair = (_per_sample(a[key], value_a), _per_sample(b[key], value_b))
        by_domain[base.samples[key].domain].append(pair)
    wanted = set(domains) if domains else None
    out = [_paired(name, metric, pairs) for name, pairs in sorted(by_domain.items())
           if wanted is None or name in wanted]
    if overall:
        out.append(_paired(OVERALL, metric, [pair for pairs in by_domain.values() for pair in pairs]))
    return [p for p in out if p is not None]


def _paired(domain: str, metric: str, pairs: list[tuple[float, float]]) -> PairedCost | None:
    ratio = ratio_estimate([y for _, y in pairs], [x for x, _ in pairs])
    if ratio is None:
        return None
    n = len(pairs)
    return PairedCost(domain, metric, n, math.fsum(x for x, _ in pairs) / n, math.fsum(y for _, y in pairs) / n,
                      ratio)


@dataclass(frozen=True, slots=True)
class CostGate:
    domain: str
    passed: bool
    reason: str
    paired: PairedCost
    p_holm: float | None


def cost_gate(paired: Sequence[PairedCost], max_increase: float, alpha: float) -> list[CostGate]:
    """A domain fails when its cost grew significantly beyond ``max_increase`` (0.2 = 20%): the one-sided
    test of ratio ≤ 1 + max_increase, t = (R − 1 − max_increase) / SE on n − 1 degrees of freedom,
    Holm-adjusted over the domains, rejects at ``alpha``."""
    bound = 1.0 + max_increase
    p_values = [_p_above(p.ratio, bound) for p in paired]
    out = []
    for p, p_holm in zip(paired, holm_bonferroni(p_values), strict=True):
        change = f"{p.ratio.mean - 1:+.1%}"
        ci = p.ratio.ci95
        if ci:
            change += f" [{ci[0] - 1:+.1%}, {ci[1] - 1:+.1%}]"
        what = f"{COST_LABELS[p.metric]} {_fmt(p.baseline)} → {_fmt(p.candidate)} ({change}, n = {p.n})"
        if p_holm is not None and p_holm < alpha:
            out.append(CostGate(p.domain, False, f"cost grew {what}, beyond +{max_increase:.0%} "
                                                 f"(Holm p {fmt_p(p_holm)} < {alpha:g})", p, p_holm))
        else:
            out.append(CostGate(p.domain, True, f"{what}: not significantly beyond +{max_increase:.0%}", p, p_holm))
    return out


def _p_above(ratio: Estimate, bound: float) -> float | None:
    """One-sided p of ratio ≤ bound; with SE 0 (every pair in the same proportion) it is 0 or 1."""
    if ratio.se is None:
        return None
    if ratio.se == 0.0:
        return 0.0 if ratio.mean > bound else 1.0
    return t_sf((ratio.mean - bound) / ratio.se, ratio.n - 1)


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"



def paired_cost_lines(paired: Sequence[PairedCost]) -> list[str]:
    """The paired costs as the lines under a comparison."""
    lines = []
    for p in paired:
        ci = p.ratio.ci95
        interval = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
        lines.append(f"cost {p.domain}: {COST_LABELS[p.metric]} {_fmt(p.baseline)} → {_fmt(p.candidate)}, "
                     f"×{p.ratio.mean:.2f}{interval} (paired, n = {p.n})")
    return lines


def paired_cost_json(p: PairedCost) -> dict[str, Any]:
    ci = p.ratio.ci95
    return {"domain": p.domain, "metric": p.metric, "n": p.n, "baseline": p.baseline, "candidate": p.candidate,
            "ratio": p.ratio.mean, "ratio_se": p.ratio.se, "ratio_ci95": list(ci) if ci else None}
