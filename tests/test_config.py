"""Suite files and --opt parsing: every error names the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalharness.adapters.calculator import CalculatorOptions
from evalharness.config import (
    RunConfig,
    TaskSpec,
    builtin_suites,
    load_suite_file,
    parse_opts,
    resolve_suite,
    task_from_cli,
    validate_task_options,
)
from evalharness.errors import ConfigError
from tests.support.cli import evalharness


def _write(tmp_path: Path, text: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_suite_file(path)
    return str(info.value)


# --- valid suites -------------------------------------------------------------------------------------


def test_valid_suite(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
name: my-suite
description: two calculator variants
limit: 4
epochs: 3
tasks:
  - task: calculator
    options:
      count: 5
      seed: 11
  - task: calculator
    name: calc-hard
    limit: 2
    epochs: 1
    options: {count: 20, domain: hard-math}
""",
    )
    suite = load_suite_file(path)
    assert suite.name == "my-suite"
    assert suite.description == "two calculator variants"
    assert suite.path == str(path)
    first, second = suite.tasks
    assert first.task == "calculator" and first.run_name == "calculator"
    assert first.options == {"count": 5, "seed": 11}
    # suite-level limit/epochs fill in what a task leaves unset, and never override what it sets
    assert (first.limit, first.epochs) == (4, 3)
    assert second.run_name == "calc-hard"
    assert (second.limit, second.epochs) == (2, 1)
    assert second.options == {"count": 20, "domain": "hard-math"}


def test_suite_name_defaults_to_file_stem(tmp_path: Path) -> None:
    suite = load_suite_file(_write(tmp_path, "tasks:\n  - task: calculator\n", name="nightly.yaml"))
    assert suite.name == "nightly"
    assert suite.description == ""
    assert suite.tasks[0].options == {} and suite.tasks[0].limit is None and suite.tasks[0].epochs is None


# --- errors with file:line: key -----------------------------------------------------------------------


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\nepochz: 3\ntasks:\n  - task: calculator\n")
    assert _error(path) == f"{path}:2: epochz: unknown key"


def test_unknown_task_adapter_points_at_task_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
name: x
tasks:
  - task: calculator
  - name: other
    task: calculater
""",
    )
    message = _error(path)
    assert message.startswith(f"{path}:5: tasks[1].task: unknown task 'calculater'")
    assert "known tasks: " in message and "calculator, " in message


def test_bad_option_type_points_at_option_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
tasks:
  - task: calculator
    options:
      seed: 1
      count: many
""",
    )
    message = _error(path)
    assert message.startswith(f"{path}:5: tasks[0].options.count: ")
    assert "valid integer" in message


def test_option_out_of_range_points_at_option_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "tasks:\n  - task: calculator\n  - task: calculator\n    name: b\n    options:\n      count: 0\n")
    message = _error(path)
    assert message.startswith(f"{path}:6: tasks[1].options.count: ")
    assert "greater than or equal to 1" in message


def test_unknown_option_key(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
tasks:
  - task: calculator
    options:
      count: 2
      colour: red
""",
    )
    assert _error(path) == f"{path}:5: tasks[0].options.colour: unknown key"


def test_unknown_task_entry_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "tasks:\n  - task: calculator\n    optoins: {count: 2}\n")
    assert _error(path) == f"{path}:3: tasks[0].optoins: unknown key"


def test_bad_task_limit(tmp_path: Path) -> None:
    path = _write(tmp_path, "tasks:\n  - task: calculator\n    limit: 0\n")
    message = _error(path)
    assert message.startswith(f"{path}:3: tasks[0].limit: ")


def test_duplicate_task_names(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
tasks:
  - task: calculator
  - task: calculator
    options: {count: 2}
""",
    )
    message = _error(path)
    assert message.startswith(f"{path}:3: tasks[1]: ")
    assert "'calculator' is listed twice" in message


def test_duplicate_explicit_names(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
tasks:
  - task: calculator
    name: a
  - task: calculator
    name: b
  - task: calculator
    name: a
""",
    )
    message = _error(path)
    assert message.startswith(f"{path}:6: tasks[2]: ")
    assert "'a' is listed twice" in message


def test_same_adapter_with_distinct_names_is_fine(tmp_path: Path) -> None:
    path = _write(tmp_path, "tasks:\n  - task: calculator\n  - task: calculator\n    name: calc2\n")
    assert [t.run_name for t in load_suite_file(path).tasks] == ["calculator", "calc2"]


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
name: x
tasks:
  - task: calculator
    options: a: b
  - task: calculator
""",
    )
    message = _error(path)
    assert message.startswith(f"{path}:4: not valid YAML: ")
    assert "mapping values are not allowed here" in message


def test_invalid_yaml_tab_indentation(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\ntasks:\n\t- task: calculator\n")
    assert _error(path).startswith(f"{path}:3: not valid YAML: ")


def test_empty_tasks(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\ntasks: []\n")
    message = _error(path)
    assert message.startswith(f"{path}:2: tasks: ")
    assert "at least 1 item" in message


def test_missing_tasks(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\ndescription: nothing here\n")
    message = _error(path)
    assert message.startswith(f"{path}:")
    assert "tasks" in message and "Field required" in message


@pytest.mark.parametrize("text", ["", "- task: calculator\n", "just a string\n"])
def test_suite_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    assert _error(path) == f"{path}:1: a suite file must be a mapping with a `tasks` list"


def test_unreadable_suite_file(tmp_path: Path) -> None:
    message = _error(tmp_path / "missing.yaml")
    assert message.startswith(f"{tmp_path / 'missing.yaml'}: cannot read suite file")


# --- resolve_suite ------------------------------------------------------------------------------------


def test_resolve_builtin_smoke() -> None:
    assert "smoke" in builtin_suites()
    suite = resolve_suite("smoke")
    assert suite.name == "smoke"
    assert suite.path is not None and suite.path.endswith("smoke.yaml")
    assert [(t.task, t.run_name) for t in suite.tasks] == [("calculator", "calculator"), ("calculator", "python")]
    assert suite.tasks[0].options == {"count": 8}
    assert suite.tasks[1].options == {"count": 4, "tool": "python", "domain": "python"}


def test_resolve_path(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: from-path\ntasks:\n  - task: calculator\n", name="mine.yml")
    suite = resolve_suite(str(path))
    assert suite.name == "from-path" and suite.path == str(path)


def test_resolve_existing_path_without_yaml_suffix(tmp_path: Path) -> None:
    path = _write(tmp_path, "tasks:\n  - task: calculator\n", name="suite.txt")
    assert resolve_suite(str(path)).name == "suite"


def test_resolve_missing_yaml_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_suite(str(tmp_path / "nope.yaml"))


def test_resolve_unknown_name_lists_builtins() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_suite("smokey")
    message = str(info.value)
    assert "unknown suite 'smokey'" in message
    assert "built-in suites are: " in message and "smoke" in message.split("built-in suites are: ")[1]


# --- --opt --------------------------------------------------------------------------------------------


def test_parse_opts_types_values() -> None:
    opts = parse_opts(["count=5", "flag=true", "name=abc", "ratio=0.5", "tags=[a, b]", " spaced = 7 ", "empty="])
    assert opts == {"count": 5, "flag": True, "name": "abc", "ratio": 0.5, "tags": ["a", "b"], "spaced": 7, "empty": ""}
    assert type(opts["count"]) is int
    assert opts["flag"] is True


def test_parse_opts_value_may_contain_equals_and_bad_yaml() -> None:
    assert parse_opts(["expr=a=b"]) == {"expr": "a=b"}
    assert parse_opts(["broken=[unclosed"]) == {"broken": "[unclosed"}


@pytest.mark.parametrize("pair", ["count", "=5", " =5"])
def test_parse_opts_rejects_malformed_pairs(pair: str) -> None:
    with pytest.raises(ConfigError, match="is not of the form key=value"):
        parse_opts([pair])


def test_task_from_cli_valid() -> None:
    suite = task_from_cli("calculator", ["count=3", "seed=9"])
    assert suite.name == "calculator" and suite.path is None
    (spec,) = suite.tasks
    assert spec.task == "calculator" and spec.options == {"count": 3, "seed": 9}


def test_task_from_cli_bad_option_type() -> None:
    with pytest.raises(ConfigError) as info:
        task_from_cli("calculator", ["count=many"])
    assert str(info.value).startswith("--opt: count: ")
    assert "valid integer" in str(info.value)


def test_task_from_cli_unknown_option() -> None:
    with pytest.raises(ConfigError) as info:
        task_from_cli("calculator", ["colour=red"])
    assert str(info.value) == "--opt: colour: unknown key"


def test_task_from_cli_unknown_task() -> None:
    with pytest.raises(ConfigError) as info:
        task_from_cli("calculater", [])
    assert "unknown task 'calculater'" in str(info.value)
    assert "calculator" in str(info.value)


def test_validate_task_options_returns_the_options_model() -> None:
    options = validate_task_options(TaskSpec(task="calculator", options={"count": 4}), "x", None)
    assert isinstance(options, CalculatorOptions)
    assert (options.count, options.seed, options.domain) == (4, 0, "calculator")


# --- RunConfig ----------------------------------------------------------------------------------------


def test_run_config_rejects_duplicate_task_names() -> None:
    with pytest.raises(ValueError, match="two tasks are named 'calculator'"):
        RunConfig(model="m", suite="s", tasks=[TaskSpec(task="calculator"), TaskSpec(task="calculator")])


def test_run_config_limits() -> None:
    cfg = RunConfig(model="m", suite="s", tasks=[TaskSpec(task="calculator")], max_turns=4, token_limit=100)
    limits = cfg.limits
    assert (limits.max_turns, limits.token_limit, limits.time_limit) == (4, 100, None)


# --- bad bytes, duplicate keys, every problem at its own line ---------------------------------------------


def test_a_suite_file_that_is_not_utf8_names_the_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_bytes(b"name: x\ndescription: caf\xe9 au lait\ntasks:\n  - task: calculator\n")
    assert _error(path) == f"{path}:2: not UTF-8 text (byte 0xe9 at column 17); save the file as UTF-8"


def test_a_suite_file_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_bytes("\ufeffname: bom\ntasks:\n  - task: calculator\n".encode())
    assert load_suite_file(path).name == "bom"


@pytest.mark.parametrize(("text", "expected"), [
    ("name: a\nname: b\ntasks:\n  - task: calculator\n", "2: name: duplicate key (first on line 1)"),
    ("tasks:\n  - task: calculator\n    options:\n      count: 2\n      count: 3\n",
     "5: tasks[0].options.count: duplicate key (first on line 4)"),
    ("tasks:\n  - {task: calculator, limit: 2, limit: 3}\n",
     "2: tasks[0].limit: duplicate key (first on line 2)"),
], ids=["top-level", "nested", "flow-mapping"])
def test_a_duplicate_key_is_an_error_not_the_last_value(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    assert _error(path) == f"{path}:{expected}; keep one"


def test_every_problem_is_listed_on_its_own_line_in_file_order(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
name: x
epochz: 3
tasks:
  - task: calculator
    optionz: {count: 2}
  - task: calculator
    name: b
    options:
      count: many
      colour: red
  - task: calculater
    name: c
""")
    lines = _error(path).splitlines()
    assert len(lines) == 5, lines
    assert lines[0] == f"{path}:2: epochz: unknown key"
    assert lines[1] == f"{path}:5: tasks[0].optionz: unknown key"
    assert lines[2].startswith(f"{path}:9: tasks[1].options.count: ") and "valid integer" in lines[2]
    assert lines[3] == f"{path}:10: tasks[1].options.colour: unknown key"
    assert lines[4].startswith(f"{path}:11: tasks[2].task: unknown task 'calculater'")
    assert "calculator" in lines[4]


def test_several_bad_options_from_the_command_line_are_all_named() -> None:
    with pytest.raises(ConfigError) as info:
        task_from_cli("calculator", ["count=many", "colour=red"])
    count, colour = str(info.value).splitlines()
    assert count.startswith("--opt: count: ") and "valid integer" in count
    assert colour == "--opt: colour: unknown key"


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("name: x\ntasks:\n  - task: calculator\n    name: a\n    options: {count: 3\n  - task: calculator\n",
     5, "the '{' at column 14 is never closed (line 6: expected ',' or '}', but got ':')"),
    ("name: x\ntasks: [calculator, python\n", 2,
     "the '[' at column 8 is never closed (line 3: expected ',' or ']', but got '<stream end>')"),
    ('name: "x\ntasks:\n  - task: calculator\n', 1, "the '\"' at column 7 is never closed (line 4: found "
                                                  "unexpected end of stream)"),
], ids=["brace", "bracket-at-the-end", "quote"])
def test_an_unclosed_bracket_or_quote_is_reported_where_it_opens(tmp_path: Path, text: str, line: int,
                                                                  fragment: str) -> None:
    path = _write(tmp_path, text)
    assert _error(path) == f"{path}:{line}: not valid YAML: {fragment}"


def test_a_control_character_names_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\ndescription: a\x07b\ntasks:\n  - task: calculator\n")
    message = _error(path)
    assert message.startswith(f"{path}:2: not valid YAML: ") and "#x0007" in message


# --- the same errors through the real command ---------------------------------------------------------------


def _cli_errors(suite: Path, tmp_path: Path) -> list[str]:
    """Run the real command on ``suite``: exit 2, no traceback, nothing created; the `error:` lines."""
    out = tmp_path / "runs"
    proc = evalharness("run", "--model", "scripted:gold", "--suite", str(suite), "--out", str(out))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not out.exists()
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert all(line.startswith("error: ") for line in lines), proc.stderr
    return [line.removeprefix("error: ") for line in lines]


def test_cli_a_suite_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_bytes(b"name: caf\xe9\ntasks:\n  - task: calculator\n")
    assert _cli_errors(path, tmp_path) == [
        f"{path}:1: not UTF-8 text (byte 0xe9 at column 10); save the file as UTF-8"]


def test_cli_a_duplicate_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\nname: y\ntasks:\n  - task: calculator\n")
    assert _cli_errors(path, tmp_path) == [f"{path}:2: name: duplicate key (first on line 1); keep one"]


def test_cli_lists_every_problem_one_line_each(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\nepochz: 1\nlimitt: 2\ntasks:\n  - task: calculator\n    optionz: 1\n")
    assert _cli_errors(path, tmp_path) == [f"{path}:2: epochz: unknown key", f"{path}:3: limitt: unknown key",
                                           f"{path}:6: tasks[0].optionz: unknown key"]


def test_cli_prints_bracketed_text_from_the_file_literally(tmp_path: Path) -> None:
    path = _write(tmp_path, "tasks:\n  - task: calculator\n    options:\n      '[bold]x': 1\n")
    assert _cli_errors(path, tmp_path) == [f"{path}:4: tasks[0].options.[bold]x: unknown key"]
