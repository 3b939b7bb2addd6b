"""Text that comes from models, data files, run directories or the command line, printed as it is.

rich reads ``[...]`` in a printed string as markup and ``:name:`` as an emoji code, so a tool a model
named ``[/x]`` would stop the summary with a MarkupError and ``openai:x:`` would print as ❌. A ``Text`` is
never parsed (and rich drops terminal control codes from it), so everything that is not our own wording
reaches the console through :func:`literal`, on its own or as a part of ``Text.assemble``.
"""

from __future__ import annotations

from rich.text import Text


def literal(value: object, style: str = "") -> Text:
    """``value`` as it reads, never parsed for markup or emoji; ``style`` applies to all of it."""
    return Text(str(value), style=style)
