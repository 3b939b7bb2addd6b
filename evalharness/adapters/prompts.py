"""Jinja2 prompt templates: a task's built-in one, or the user's (``--prompt-template``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from evalharness.errors import DataError
from evalharness.resources import builtin_tasks_dir


class PromptTemplate:
    """Undefined variables are errors, so a template that names a variable the task does not provide
    fails when the samples load, naming the file, instead of rendering a prompt with a hole in it."""

    def __init__(self, user_path: str | None, builtin: str) -> None:
        self.path = Path(user_path) if user_path else builtin_tasks_dir() / builtin
        try:
            source = self.path.read_text(encoding="utf-8")
        except OSError as e:
            raise DataError(f"prompt template {self.path}: {e.strerror}") from None
        try:
            self._template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(source)
        except jinja2.TemplateSyntaxError as e:
            raise DataError(f"{self.path}:{e.lineno}: template syntax error: {e.message}") from None

    def render(self, **variables: Any) -> str:
        try:
            return self._template.render(**variables)
        except jinja2.TemplateError as e:
            raise DataError(f"prompt template {self.path}: {e}") from None
