"""argparse made to speak like the rest of the command line.

Every mistake is one line that starts with ``error:`` (exit code 2), names the option the way the user typed
it, and says what was probably meant when a command, option or choice is mistyped: argparse's own output (the
whole usage block, then ``evalharness run: error: argument --limit: ...``) buries the one line that matters.
The global flags (``--debug``, ``--version``) work before and after a subcommand, and a command group given
alone (``evalharness``, ``evalharness sandbox``) prints its help: asking for nothing is asking what there is.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from evalharness import __version__
from evalharness.suggest import did_you_mean

_ARGUMENT_PROBLEM = re.compile(r"argument (?P<name>[^:]+): (?P<reason>.*)", re.DOTALL)
_MISSING = re.compile(r"the following arguments are required: (?P<names>.*)", re.DOTALL)
# argparse's reasons, reworded to follow the option's name as ours do: "--suite needs a value"
_REWORDED = (
    (re.compile(r"expected one argument"), "needs a value"),
    (re.compile(r"expected at least one argument"), "needs at least one value"),
    (re.compile(r"ignored explicit argument (.*)"), r"takes no value (got \1)"),
    (re.compile(r"invalid int value: (.*)"), r"must be an integer (got \1)"),
    (re.compile(r"invalid float value: (.*)"), r"must be a number (got \1)"),
)


def global_flags(default: Any) -> argparse.ArgumentParser:
    """The flags every command accepts. Subcommands get them with ``argparse.SUPPRESS`` as the default, so
    that ``evalharness --debug run`` is not reset to False by the ``run`` parser."""
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument("--version", action="version", version=f"evalharness {__version__}")
    flags.add_argument("--debug", action="store_true", default=default, help="show tracebacks and debug logs")
    return flags


class CommandLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose subcommands are parsers of this class with the global flags."""

    _has_commands = False

    def add_subparsers(self, **kwargs: Any) -> argparse._SubParsersAction:  # type: ignore[type-arg]
        self._has_commands = True
        kwargs.setdefault("action", _Subcommands)
        return super().add_subparsers(**kwargs)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """As argparse's, except that anything this (sub)command does not know is an error here, where the
        message can name this command's options, instead of a list handed back up to the top parser."""
        args = sys.argv[1:] if args is None else list(args)
        if not args and self._has_commands:
            self.print_help()
            self.exit(0)
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(self._unexpected(extras[0]))
        return namespace, extras

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self._reworded(message)}\n")

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if action.choices is None or value in action.choices:
            return
        choices = [str(choice) for choice in action.choices]
        hint = did_you_mean(str(value), choices)
        if isinstance(action, _Subcommands):
            raise argparse.ArgumentError(
                None, f"{value!r} is not an {self.prog} command{hint}; commands: {', '.join(choices)}")
        raise argparse.ArgumentError(action, f"must be one of {', '.join(choices)}, not {value!r}{hint}")

    def _reworded(self, message: str) -> str:
        if problem := _ARGUMENT_PROBLEM.fullmatch(message):
            reason = problem["reason"]
            for pattern, replacement in _REWORDED:
                if pattern.fullmatch(reason):
                    reason = pattern.sub(replacement, reason)
                    break
            return f"{problem['name']} {reason}"
        if missing := _MISSING.fullmatch(message):
            return f"{self.prog} needs {missing['names']}{self._see_help}"
        return message

    def _unexpected(self, argument: str) -> str:
        if argument.startswith("-") and argument not in ("-", "--"):
            flag = argument.split("=", 1)[0]
            known = [option for action in self._actions for option in action.option_strings]
            return f"{self.prog} has no option {flag!r}{did_you_mean(flag, known) or self._see_help}"
        return f"{self.prog}: unexpected argument {argument!r}{self._see_help}"

    @property
    def _see_help(self) -> str:
        return f" (see `{self.prog} --help`)"


class _Subcommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subcommands of a CommandLineParser: each takes the global flags too."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.setdefault("parents", [global_flags(argparse.SUPPRESS)])
        return super().add_parser(name, **kwargs)


# --- value types of options: their errors read after the option's name ("--limit must be at least 1") ---


def integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer (got {text!r})") from None


def positive_int(text: str) -> int:
    value = integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def number_that(text: str, requirement: str, holds: Callable[[float], bool]) -> float:
    """``text`` as a number for which ``holds`` is true, else the error "must <requirement> (got ...)"."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must {requirement} (got {text!r})") from None
    if not holds(value):
        raise argparse.ArgumentTypeError(f"must {requirement} (got {text})")
    return value


def positive_float(text: str) -> float:
    """A positive, finite number: ``nan`` and ``inf`` parse as floats but are no amount of seconds or MB."""
    return number_that(text, "be a positive number", lambda value: math.isfinite(value) and value > 0)


def port(text: str) -> int:
    value = integer(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535 (got {value})")
    return value
