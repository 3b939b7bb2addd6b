"""Comparing checkpoints: pairing samples across runs, per-domain paired statistics, the seesaw verdict,
trends over several checkpoints and the CI gate.

Two runs are paired on the intersection of their ``(task, sample_id)`` keys: epochs of a sample are averaged
within each run first (errored epochs left out), so a sample is one pair whatever the number of epochs.
Formulas are in ``stats.py`` (``FORMULAS``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from evalharness.errors import ConfigError, EvalHarnessError
from evalharness.report.aggregate import ConditionDelta, DomainSummary, condition_deltas, summarize_by_domain
from evalharness.gc_pause import no_gc
from evalharness.report.load import Cluster, RunData, SampleScores
from evalharness.report.stats import (
    TESTS,
    Estimate,
    PairedComparison,
    clustered_estimate,
    holm_bonferroni,
    paired_comparison,
)

MODES = ("significant-drop", "non-inferiority")


class NotComparable(EvalHarnessError):
    """The runs cannot be compared sample by sample (exit code 2); the message says why, on one line."""


def collect(run: RunData) -> dict[Cluster, SampleScores]:
    """Per (task, sample_id): the scores of every epoch of ``run``."""
    return run.samples


class RunInfo:
    """What a report shows about one run besides the paired statistics. The per-domain summaries (which need
    the full results) are computed on first use."""

    def __init__(self, run: RunData) -> None:
        self._run = run
        self.id = run.id
        self.path = str(run.path)
        self.model = run.model
        self.suite = run.suite
        self.status = run.status
        self.role = run.role
        self.samples = len(run.samples)

    @classmethod
    def of(cls, run: RunData) -> RunInfo:
        return cls(run)

    @cached_property
    def summaries(self) -> list[DomainSummary]:
        return summarize_by_domain(self._run.results) if self._run.results is not None else []

    @cached_property
    def deltas(self) -> list[ConditionDelta]:
        return condition_deltas(self._run.results) if self._run.results is not None else []

    def summary(self, domain: str) -> DomainSummary | None:
        return next((s for s in self.summaries if s.domain == domain), None)

    @cached_property
    def _domain_scores(self) -> dict[str, dict[Cluster, list[float]]]:
        out: dict[str, dict[Cluster, list[float]]] = defaultdict(dict)
        for key, s in self._run.samples.items():
            if s.primary:
                out[s.domain][key] = s.primary
        return out

    def estimate(self, domain: str) -> Estimate:
        """The domain's primary score over every scored sample of the run (clustered by sample), as in the
        run's own summary."""
        return clustered_estimate(self._domain_scores.get(domain, {}), bounded=True)


@dataclass(frozen=True)
class DomainComparison:
    domain: str
    score_name: str
    baseline: Estimate  # the whole run's estimate (all scored samples), as in the run's own summary
    candidate: Estimate
    paired: PairedComparison  # candidate minus baseline on the paired samples
    p_holm: float | None
    alpha: float
    only_baseline: int  # samples of the domain scored only in the baseline (missing or errored in the other)
    only_candidate: int
    errored: int  # samples present in both runs but errored (all epochs) in at least one
    secondary: dict[str, PairedComparison] = field(default_factory=dict)

    @property
    def significant(self) -> bool:
        return self.p_holm is not None and self.p_holm < self.alpha

    @property
    def direction(self) -> str:
        """"up" / "down" when significant after Holm correction, else "none"."""
        if not self.significant or self.paired.diff == 0:
            return "none"
        return "up" if self.paired.diff > 0 else "down"

    @property
    def mde(self) -> float | None:
        return self.paired.mde(self.alpha)

    @property
    def p_value_missing(self) -> bool:
        return self.paired.p_value is None


VERDICTS = ("seesaw", "regression", "improvement", "no significant change")


@dataclass
class Comparison:
    baseline: RunInfo
    candidate: RunInfo
    domains: list[DomainComparison]
    alpha: float
    test: str
    notes: list[str] = field(default_factory=list)

    @property
    def up(self) -> list[DomainComparison]:
        return [d for d in self.domains if d.direction == "up"]

    @property
    def down(self) -> list[DomainComparison]:
        return [d for d in self.domains if d.direction == "down"]

    @property
    def verdict(self) -> str:
        """seesaw: at least one domain significantly up and one significantly down (Holm-adjusted)."""
        if self.up and self.down:
            return "seesaw"
        if self.down:
            return "regression"
        if self.up:
            return "improvement"
        return "no significant change"

    def headline(self) -> str:
        def moves(ds: list[DomainComparison]) -> str:
            return ", ".join(f"{d.domain} {d.paired.diff:+.3f} (Holm p {fmt_p(d.p_holm)})" for d in ds)

        parts = []
        if self.up:
            parts.append(f"up: {moves(self.up)}")
        if self.down:
            parts.append(f"down: {moves(self.down)}")
        text = self.verdict.upper() if self.verdict == "seesaw" else self.verdict.capitalize()
        return text + (" — " + "; ".join(parts) if parts else f" in {len(self.domains)} domain(s) at α = {self.alpha}")


def fmt_p(p: float | None) -> str:
    if p is None:
        return "n/a"
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}"


def _run_epochs(run: RunData) -> dict[str, int]:
    tasks = run.manifest_tasks()
    epochs = dict(run.epochs_by_task)
    for name, t in tasks.items():
        if isinstance(t.get("epochs"), int):
            epochs[name] = t["epochs"]
    return epochs


def _first_difference(a: Any, b: Any, prefix: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if a.get(k) != b.get(k):
                return _first_difference(a.get(k), b.get(k), f"{prefix}{k}.")
    return f"{prefix.rstrip('.') or 'value'} {a!r} vs {b!r}"


def check_comparable(base: RunData, cand: RunData, a: dict[Cluster, SampleScores],
                     b: dict[Cluster, SampleScores]) -> tuple[list[str], list[str]]:
    """(problems, notes): any problem makes the pair not comparable; notes are shown with the result."""
    problems: list[str] = []
    notes: list[str] = []
    bn, cn = base.role, cand.role
    if base.suite and cand.suite and base.suite != cand.suite:
        problems.append(f"different suites: {bn} ran {base.suite!r}, {cn} ran {cand.suite!r}")
    ea, eb = _run_epochs(base), _run_epochs(cand)
    for task in sorted(set(ea) & set(eb)):
        if ea[task] != eb[task]:
            problems.append(f"different epochs: task {task!r} has {ea[task]} epoch(s) per sample in the {bn} and "
                            f"{eb[task]} in the {cn} (compare runs made with the same --epochs)")
    ta, tb = base.manifest_tasks(), cand.manifest_tasks()
    for task in sorted(set(ta) & set(tb)):
        oa, ob = ta[task].get("options"), tb[task].get("options")
        if oa is not None and ob is not None and oa != ob:
            problems.append(f"task {task!r} ran with different options: {_first_difference(oa, ob)}")
    shared = a.keys() & b.keys()
    if not shared:
        problems.append(f"no samples in common: the {bn} has {len(a)} sample(s) in task(s) "
                        f"{', '.join(sorted({t for t, _ in a})) or '-'}, the {cn} {len(b)} in "
                        f"{', '.join(sorted({t for t, _ in b})) or '-'}")
    mismatched = sorted(k for k in shared if a[k].target != b[k].target)
    if mismatched:
        task, sid = mismatched[0]
        problems.append(f"{len(mismatched)} shared sample(s) have different targets (first: {task}/{sid}): "
                        f"the task data changed between the runs")
    names: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for s in a.values():
        if s.score_name:
            names[s.domain][0].add(s.score_name)
    for s in b.values():
        if s.score_name:
            names[s.domain][1].add(s.score_name)
    for domain, (na, nb) in sorted(names.items()):
        if na and nb and na != nb:
            problems.append(f"domain {domain!r} is scored by {'/'.join(sorted(na))} in the {bn} but by "
                            f"{'/'.join(sorted(nb))} in the {cn}")
    for run in (base, cand):
        if run.status not in ("complete", "unknown"):
            notes.append(f"the {run.role} run is {run.status}: only its finished samples are compared")
    return problems, notes


def compare_runs(base: RunData, cand: RunData, *, alpha: float = 0.05, test: str = "auto",
                 domains: Sequence[str] | None = None) -> Comparison:
    """Per-domain paired comparison of ``cand`` against ``base``; raises ``NotComparable``."""
    with no_gc():
        return _compare_runs(base, cand, alpha, test, domains)


def _compare_runs(base: RunData, cand: RunData, alpha: float, test: str, domains: Sequence[str] | None
                  ) -> Comparison:
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"--alpha must lie between 0 and 1, got {alpha}")
    if test not in TESTS:
        raise ConfigError(f"unknown test {test!r}; one of {', '.join(TESTS)}")
    a, b = collect(base), collect(cand)
    problems, notes = check_comparable(base, cand, a, b)
    if problems:
        raise NotComparable(f"{base.role} and {cand.role} are not comparable: " + "; ".join(problems))
    by_domain: dict[str, list[Cluster]] = defaultdict(list)
    only_a: dict[str, int] = defaultdict(int)
    only_b: dict[str, int] = defaultdict(int)
    errored: dict[str, int] = defaultdict(int)
    moved = 0
    for key, sa in a.items():
        sb = b.get(key)
        if sb is None:
            if sa.primary:
                only_a[sa.domain] += 1
            continue
        if sa.domain != sb.domain:
            moved += 1
        if sa.primary and sb.primary:
            by_domain[sa.domain].append(key)
        else:
            errored[sa.domain] += 1
    for key, sb in b.items():
        if key not in a and sb.primary:
            only_b[sb.domain] += 1
    if moved:
        notes.append(f"{moved} sample(s) changed domain between the runs; the {base.role}'s domain is used")
    all_domains = sorted(set(by_domain) | set(only_a) | set(only_b) | set(errored)
                         | {s.domain for s in a.values()} | {s.domain for s in b.values()})
    if domains:
        unknown = [d for d in domains if d not in all_domains]
        if unknown:
            raise ConfigError(f"unknown domain(s) {', '.join(map(repr, unknown))}; the runs have "
                              f"{', '.join(all_domains) or 'no domains'}")
        selected = list(dict.fromkeys(domains))
    else:
        selected = all_domains
    info_a, info_b = RunInfo.of(base), RunInfo.of(cand)
    rows: list[tuple[str, PairedComparison, dict[str, PairedComparison]]] = []
    for domain in selected:
        keys = sorted(by_domain.get(domain, ()))
        if not keys:
            where = [r for r, side in ((base.role, a), (cand.role, b)) if any(s.domain == domain for s in side.values())]
            notes.append(f"domain {domain!r}: no sample scored in both runs (present in {' and '.join(where)}); "
                         f"not compared")
            continue
        xa = [sum(p) / len(p) for p in (a[k].primary for k in keys)]
        xb = [sum(p) / len(p) for p in (b[k].primary for k in keys)]
        paired = paired_comparison(xa, xb, test)
        secondary: dict[str, PairedComparison] = {}
        names = sorted({n for k in keys for n in a[k].secondary} & {n for k in keys for n in b[k].secondary})
        for name in names:
            ks = [k for k in keys if a[k].secondary.get(name) and b[k].secondary.get(name)]
            if ks:
                secondary[name] = paired_comparison(
                    [sum(a[k].secondary[name]) / len(a[k].secondary[name]) for k in ks],
                    [sum(b[k].secondary[name]) / len(b[k].secondary[name]) for k in ks],
                    "t" if test == "mcnemar" else test)
        rows.append((domain, paired, secondary))
    if not rows:
        raise NotComparable(f"{base.role} and {cand.role} are not comparable: no domain has samples scored in both"
                            + (f" (selected: {', '.join(selected)})" if domains else ""))
    adjusted = holm_bonferroni([p.p_value for _, p, _ in rows])
    out = []
    for (domain, paired, secondary), p_holm in zip(rows, adjusted, strict=True):
        name = next((a[k].score_name for k in by_domain[domain] if a[k].score_name), "score")
        out.append(DomainComparison(
            domain=domain, score_name=name or "score",
            baseline=info_a.estimate(domain), candidate=info_b.estimate(domain),
            paired=paired, p_holm=p_holm, alpha=alpha, only_baseline=only_a.get(domain, 0),
            only_candidate=only_b.get(domain, 0), errored=errored.get(domain, 0), secondary=secondary))
        if only_a.get(domain) or only_b.get(domain) or errored.get(domain):
            notes.append(f"domain {domain!r}: {paired.n} paired sample(s); left out {only_a.get(domain, 0)} only in the "
                         f"{base.role}, {only_b.get(domain, 0)} only in the {cand.role}, "
                         f"{errored.get(domain, 0)} errored in one of them")
    return Comparison(info_a, info_b, out, alpha, test, notes)


# ----------------------------------------------------------------------------------------------- gate


@dataclass(frozen=True)
class DomainGate:
    domain: str
    passed: bool
    reason: str
    comparison: DomainComparison
    lower_bound: float | None = None  # non-inferiority: one-sided (1 − α) lower bound of the change


@dataclass
class GateResult:
    mode: str
    max_drop: float
    alpha: float
    comparison: Comparison
    domains: list[DomainGate]

    @property
    def passed(self) -> bool:
        return all(d.passed for d in self.domains)

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    @property
    def failed(self) -> list[DomainGate]:
        return [d for d in self.domains if not d.passed]

    def verdict_line(self) -> str:
        c = self.comparison
        if self.passed:
            head = f"PASS: no domain regressed ({self.mode}, max drop {self.max_drop:g}, α = {self.alpha:g})"
        else:
            head = (f"FAIL: regression in {', '.join(d.domain for d in self.failed)} "
                    f"({self.mode}, max drop {self.max_drop:g}, α = {self.alpha:g})")
        if c.verdict == "seesaw":
            head += f"; {c.headline()}"
        return head


def gate(comparison: Comparison, mode: str = "significant-drop", max_drop: float = 0.02) -> GateResult:
    """Decide pass/fail per domain.

    significant-drop: a domain fails when its drop is significant after Holm correction (adjusted p < α)
    AND larger than ``max_drop``. non-inferiority: a domain passes only when the one-sided (1 − α) lower
    confidence bound of the change is above −``max_drop``."""
    if mode not in MODES:
        raise ConfigError(f"unknown gate mode {mode!r}; one of {', '.join(MODES)}")
    if max_drop < 0:
        raise ConfigError(f"--max-drop must not be negative, got {max_drop}")
    alpha = comparison.alpha
    out = []
    for d in comparison.domains:
        p, ci = d.paired, d.paired.ci95
        change = f"{p.diff:+.3f}" + (f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else "")
        if mode == "significant-drop":
            if d.direction == "down" and -p.diff > max_drop:
                out.append(DomainGate(d.domain, False, f"dropped {change}, Holm p {fmt_p(d.p_holm)} < {alpha:g} and "
                                                       f"the drop exceeds {max_drop:g}", d))
            elif d.direction == "down":
                out.append(DomainGate(d.domain, True, f"dropped {change}, significant but within max drop "
                                                      f"{max_drop:g}", d))
            elif d.p_value_missing:
                out.append(DomainGate(d.domain, True, f"{change}: too few paired samples to test (n = {p.n})", d))
            else:
                what = "significant improvement" if d.direction == "up" else "no significant change"
                mde = f", MDE {d.mde:.3f}" if d.mde is not None else ""
                out.append(DomainGate(d.domain, True, f"{change}, {what} (Holm p {fmt_p(d.p_holm)}{mde})", d))
        else:
            bound = p.lower_bound(alpha)
            level = f"{(1 - alpha) * 100:g}%"
            if bound is None:
                out.append(DomainGate(d.domain, False, f"{change}: too few paired samples (n = {p.n}) to bound the "
                                                       f"change", d))
            elif bound > -max_drop:
                out.append(DomainGate(d.domain, True, f"{change}, one-sided {level} lower bound {bound:+.3f} > "
                                                      f"{-max_drop:+g}", d, bound))
            else:
                out.append(DomainGate(d.domain, False, f"{change}, one-sided {level} lower bound {bound:+.3f} ≤ "
                                                       f"{-max_drop:+g}: a drop larger than {max_drop:g} is not "
                                                       f"ruled out", d, bound))
    return GateResult(mode, max_drop, alpha, comparison, out)


# ---------------------------------------------------------------------------------------------- trend


@dataclass
class DomainTrend:
    domain: str
    estimates: list[Estimate | None]  # per checkpoint (None: the domain is absent from that run)
    steps: list[DomainComparison | None]  # checkpoint i vs i − 1 (index 0 is None)
    cumulative: list[DomainComparison | None]  # checkpoint i vs the first
    first_regression: int | None  # first checkpoint significantly below the previous one
    first_below_baseline: int | None  # first checkpoint significantly below the first one


@dataclass
class Trend:
    runs: list[RunInfo]
    domains: list[DomainTrend]
    steps: list[Comparison | None]  # index i: run i vs run i − 1 (None at 0, or when not comparable)
    cumulative: list[Comparison | None]  # index i: run i vs run 0
    problems: list[str] = field(default_factory=list)


def trend(runs: Sequence[RunData], *, alpha: float = 0.05, test: str = "auto") -> Trend:
    """Several checkpoints in order: per-domain estimates, step and cumulative paired comparisons, and the
    first checkpoint where each domain regressed. Pairs that are not comparable are left out and named in
    ``problems``."""
    infos = [RunInfo.of(r) for r in runs]
    steps: list[Comparison | None] = [None]
    cumulative: list[Comparison | None] = [None]
    problems: list[str] = []
    for i in range(1, len(runs)):
        for target, base in ((steps, runs[i - 1]), (cumulative, runs[0])):
            if target is cumulative and i == 1:
                target.append(steps[1])
                continue
            try:
                target.append(compare_runs(base, runs[i], alpha=alpha, test=test))
            except NotComparable as e:
                target.append(None)
                if str(e) not in problems:
                    problems.append(str(e))
    present = [{s.domain for s in r.samples.values()} for r in runs]
    names = sorted(set().union(*present))
    domains = []
    for name in names:
        est = [info.estimate(name) if name in have else None for info, have in zip(infos, present, strict=True)]
        st = [None] + [next((d for d in c.domains if d.domain == name), None) if c else None for c in steps[1:]]
        cu = [None] + [next((d for d in c.domains if d.domain == name), None) if c else None for c in cumulative[1:]]
        first_step = next((i for i, d in enumerate(st) if d is not None and d.direction == "down"), None)
        first_cum = next((i for i, d in enumerate(cu) if d is not None and d.direction == "down"), None)
        domains.append(DomainTrend(name, est, st, cu, first_step, first_cum))
    return Trend(infos, domains, steps, cumulative, problems)
