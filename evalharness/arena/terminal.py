"""The arena's results on the terminal: ratings, the win/tie/loss matrix, per-domain counts, the judge."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evalharness.arena.ratings import Ratings
from evalharness.arena.results import ArenaResult
from evalharness.console_text import literal


def _console() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 200, soft_wrap=False)


def _rating(r: Ratings | None, i: int) -> str:
    if r is None:
        return "-"
    return f"{r.rating[i]:.0f} [{r.lower[i]:.0f}, {r.upper[i]:.0f}]"


def ratings_table(result: ArenaResult) -> Table:
    r, s = result.ratings, result.style
    table = Table(title=f"Arena ratings (Bradley–Terry, Elo scale, {result.anchor} = 1000; 95% intervals)",
                  title_justify="left")
    for name in ("rank", "run", "model", "rating [95% CI]", "style-controlled [95% CI]", "win rate"):
        table.add_column(name, justify="left" if name in ("run", "model") else "right", no_wrap=True)
    order = list(range(len(result.runs))) if r is None else [result.names.index(n) for n in r.order()]
    for rank, i in enumerate(order, start=1):
        table.add_row(str(rank), literal(result.names[i]), literal(result.runs[i].model), _rating(r, i),
                      _rating(s.ratings if s else None, i), _win_rate(result, i))
    return table


def _win_rate(result: ArenaResult, i: int) -> str:
    rec = result.record
    if rec is None:
        return "-"
    n = rec.wins[i].sum() + rec.ties[i].sum() + rec.losses[i].sum()
    return "-" if n == 0 else f"{(rec.wins[i].sum() + 0.5 * rec.ties[i].sum()) / n:.1%}"


def matrix_table(result: ArenaResult) -> Table | None:
    rec = result.record
    if rec is None:
        return None
    table = Table(title="Wins / ties / losses of the row's run against the column's", title_justify="left")
    table.add_column("", no_wrap=True)
    for name in result.names:
        table.add_column(literal(name), justify="right", no_wrap=True)
    for i, name in enumerate(result.names):
        cells = ["·" if i == j else f"{rec.wins[i, j]}/{rec.ties[i, j]}/{rec.losses[i, j]}"
                 for j in range(len(result.names))]
        table.add_row(literal(name), *cells)
    return table


def domain_table(result: ArenaResult) -> Table:
    table = Table(title="Per pair and domain (first run's wins / ties / losses; inconsistent ⊂ ties)",
                  title_justify="left")
    for name in ("pair", "domain", "wins", "ties", "losses", "inconsistent", "unparseable"):
        table.add_column(name, justify="left" if name in ("pair", "domain") else "right", no_wrap=True)
    for (i, j), per in sorted(result.pairs.items()):
        for domain, c in sorted(per.items()):
            unparseable = Text(str(c.unparseable), style="red" if c.unparseable else "")
            table.add_row(literal(f"{result.names[i]} vs {result.names[j]}"), literal(domain), str(c.wins),
                          str(c.ties), str(c.losses), str(c.inconsistent), unparseable)
    return table


def judge_lines(result: ArenaResult) -> list[str]:
    bias = result.position_bias
    n = len(result.judgements)
    lines = [f"judge {result.judge}: {n} battle(s), each judged in both orders; {result.judge_calls} judge call(s), "
             f"{result.cached} verdict(s) from the cache",
             f"position bias: {'n/a' if bias is None else f'{bias:.1%}'} of battles got the same position preferred "
             f"in both orders; inconsistent verdicts (counted as ties): {result.inconsistent}"]
    if result.unparseable:
        lines.append(f"unreadable verdicts: {result.unparseable_verdicts}; {len(result.unparseable)} battle(s) not "
                     f"rated")
    if result.style is not None:
        coefficients = ", ".join(f"{k} {v:+.2f}" for k, v in result.style.coefficients.items())
        lines.append(f"style coefficients (log-odds per SD of the normalised difference): {coefficients}")
    lines.extend(f"note: {note}" for note in result.notes)
    return lines


def print_result(result: ArenaResult) -> None:
    console = _console()
    console.print(ratings_table(result))
    if (matrix := matrix_table(result)) is not None:
        console.print(matrix)
    console.print(domain_table(result))
    for line in judge_lines(result):
        console.print(literal(line, style="red" if line.startswith("unreadable") else ""))
    for j in result.unparseable[:5]:
        reply = next((text for text, v in zip(j.raw, (j.first_as_a, j.second_as_a), strict=True) if v is None), "")
        console.print(literal(f"  unreadable: {j.matchup.key[0]}/{j.matchup.key[1]} "
                              f"({result.names[j.matchup.first]} vs {result.names[j.matchup.second]}): "
                              f"{' '.join(reply.split())[:160]!r}"))
