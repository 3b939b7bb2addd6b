"""Exceptions that carry a message a user can act on.

The CLI prints ``str(error)`` on one line and exits with ``exit_code``; anything that is not an
``EvalHarnessError`` is a bug and is reported as such.
"""

from __future__ import annotations


class EvalHarnessError(Exception):
    """A problem the user can fix (bad input, unreachable service, missing data)."""

    exit_code = 2


class ConfigError(EvalHarnessError):
    """Invalid command-line options, suite files or task options."""


class DataError(EvalHarnessError):
    """A task's data file is missing or malformed."""


class ModelUnavailable(EvalHarnessError):
    """The model backend cannot be reached or refuses us before the run starts."""


class RunAborted(EvalHarnessError):
    """The run stopped early because every further sample would fail the same way."""


class RunInterrupted(EvalHarnessError):
    """The user (or the system) asked the run to stop; what finished is saved."""

    exit_code = 130


class ToolServerError(EvalHarnessError):
    """A tool server (an MCP server) died, hung or cannot be reached: not the model's fault, so it ends the
    sample as ``tool_server_error`` instead of going back to the model as a tool error."""


class SandboxError(EvalHarnessError):
    """The sandbox itself failed (engine gone, container dead, cannot start): not the model's fault, so it
    ends the sample as an error instead of going back to the model as a tool error."""
