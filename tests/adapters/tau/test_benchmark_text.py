"""The models are shown τ²-bench's own text: learned from recorded requests (the first requests τ²-bench's
runner sent, in /work/shared/data/tau2/wire), or read from a τ²-bench checkout's source without running
it; without either, the project's own text, and the summary says so.

Expected texts are derived in the tests from the recordings and the data files, never written out."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from evalharness.adapters.tau.adapter import TauAdapter, TauOptions
from evalharness.adapters.tau.benchmark_text import (
    SOURCE_CHECKOUT,
    ScenarioLabels,
    Template,
    checkout_root,
    checkout_text,
    recorded_text,
)
from evalharness.adapters.tau.data import load_domain
from evalharness.adapters.tau.domains import TOOLKITS
from evalharness.errors import DataError
from tests.support.cli import evalharness
from tests.support.openai_server import ScriptedOpenAIServer

DATA = Path("/work/shared/data/tau2")
WIRE = DATA / "wire"
DOMAINS = ("mock", "airline", "retail", "telecom")
# banking_knowledge's recordings, one per retrieval configuration (named in the recording)
BANKING_RECORDINGS = ("banking_knowledge", "banking_knowledge.golden_retrieval", "banking_knowledge.no_knowledge")
STUB_USER_OPENING = "Hi, I need some help."  # the recording's own stub reply, not benchmark text
STOP = "###STOP###"


def recording(domain: str) -> dict[str, Any]:
    return json.loads((WIRE / f"{domain}.json").read_text(encoding="utf-8"))


def system_of(request: dict[str, Any]) -> str:
    return request["messages"][0]["content"]


def without_nulls(value: Any) -> Any:
    """A request part with its null fields left out (``"tool_calls": null`` and an absent key say the same)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


# --- end to end: the real HTTP path -------------------------------------------------------------------------


def domain_with_tasks(tmp_path: Path, domain: str, *task_ids: str) -> Path:
    """The shared domain with only the given tasks (in ``tasks.json``, or ``tasks/`` where the domain keeps
    one file per task), beside the shared user-simulator guidelines."""
    directory = tmp_path / "data" / domain
    directory.mkdir(parents=True)
    for source in (DATA / domain).iterdir():
        if source.name not in ("tasks.json", "split_tasks.json", "tasks"):
            (directory / source.name).symlink_to(source)
    if (DATA / domain / "tasks").is_dir():
        (directory / "tasks").mkdir()
        for task_id in task_ids:
            (directory / "tasks" / f"{task_id}.json").symlink_to(DATA / domain / "tasks" / f"{task_id}.json")
    else:
        tasks = json.loads((DATA / domain / "tasks.json").read_text(encoding="utf-8"))
        (directory / "tasks.json").write_text(json.dumps([t for t in tasks if str(t["id"]) in task_ids]))
    (tmp_path / "data" / "user_simulator").symlink_to(DATA / "user_simulator")
    return directory


def both_sides(user_system: str) -> Any:
    """Plays the user (recognised by its system prompt) and the agent: the user opens with the stub line,
    the agent answers once, the user stops."""
    def policy(body: dict[str, Any]) -> dict[str, Any]:
        if body["messages"][0]["content"] == user_system:
            said = sum(1 for m in body["messages"] if m["role"] == "assistant")
            return {"role": "assistant", "content": STUB_USER_OPENING if said == 0 else STOP}
        return {"role": "assistant", "content": "Hello."}
    return policy


@pytest.mark.parametrize("name", [*DOMAINS, *BANKING_RECORDINGS])
def test_first_requests_equal_taus_own_through_http(name: str, tmp_path: Path) -> None:
    """Every recording, banking_knowledge's three retrieval configurations included: the customer is shown
    only the task's own ``user_tools``, the agent the configuration's retrieval tools first."""
    recorded = recording(name)
    domain = recorded["domain"]
    retrieval = ["--opt", f"retrieval={recorded['retrieval_config']}"] if recorded.get("retrieval_config") else []
    directory = domain_with_tasks(tmp_path, domain, str(recorded["task_id"]))
    with ScriptedOpenAIServer(both_sides(system_of(recorded["user_first_request"]))) as server:
        proc = evalharness("run", "--model", "openai:m", "--base-url", server.base_url, "--task", "tau",
                           "--domain-dir", str(directory), "--opt", f"tau2_requests={WIRE}", *retrieval,
                           "--out", str(tmp_path / "runs"), "--no-progress", "--no-report")
        bodies = server.log.bodies
    assert proc.returncode == 0, proc.stderr
    user_body, agent_body = bodies[0], bodies[1]
    for sent, expected in ((user_body, recorded["user_first_request"]), (agent_body, recorded["agent_first_request"])):
        assert without_nulls(sent["messages"]) == without_nulls(expected["messages"])
        assert sent.get("tools") == expected["tools"]
        assert sent.get("tool_choice") == expected["tool_choice"]
        assert sent["temperature"] == expected["temperature"]
    assert "NOT τ²-bench's" not in proc.stdout
    manifest = json.loads(next((tmp_path / "runs").rglob("manifest.json")).read_text())
    prompts = manifest["tasks"][0]["prompts"]
    assert prompts["source"] == "tau2_requests" and prompts["temperature"] == 0.0
    assert prompts["snapshot_commit"] == "a2c024725189473d2d7cea3a5cfdbcc67478e41f"
    assert f"{name}.json" in prompts["files"] and prompts["own_tools"] == []


def test_own_wording_names_the_customer_tools_some_task_gives_and_the_recording_lacks() -> None:
    """banking_knowledge's tasks choose the customer's tools; its recording shows task_001's one. A tool
    no task gives is shown to no model and is not named."""
    adapter = TauAdapter(TauOptions(domain_dir=str(DATA / "banking_knowledge"), tau2_requests=str(WIRE)))
    given = {name for task in adapter.domain.tasks for name in task["user_tools"]}
    recorded = {t["function"]["name"] for t in recording("banking_knowledge")["user_first_request"]["tools"]}
    assert sorted(adapter.text.own_tools) == sorted(given - recorded)
    assert "list_discoverable_user_tools" not in given | set(adapter.text.own_tools)


def test_without_a_source_the_summary_and_report_say_it_is_not_taus_text(tmp_path: Path) -> None:
    recorded = recording("mock")
    directory = domain_with_tasks(tmp_path, "mock", str(recorded["task_id"]))
    with ScriptedOpenAIServer(both_sides("")) as server:  # the own text's user is never recognised: agent only
        proc = evalharness("run", "--model", "openai:m", "--base-url", server.base_url, "--task", "tau",
                           "--domain-dir", str(directory), "--out", str(tmp_path / "runs"), "--no-progress",
                           "--max-turns", "3", "--report", str(tmp_path / "report.html"))
        first = server.log.bodies[0]
    assert proc.returncode == 0, proc.stderr
    assert "NOT τ²-bench's" in " ".join(proc.stdout.split())
    assert system_of(first) != system_of(recorded["user_first_request"])
    run_dir = next((tmp_path / "runs").rglob("manifest.json")).parent
    assert json.loads((run_dir / "manifest.json").read_text())["tasks"][0]["prompts"] == {"source": "evalharness"}
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "NOT τ²-bench&#39;s" in html or "NOT τ²-bench's" in html


# --- tool schemas and order ---------------------------------------------------------------------------------


def with_recorded_descriptions(ours: Any, recorded: Any) -> Any:
    """Our schema with the recorded schema's descriptions in place of ours (none where it has none). A
    description is a string: an argument named ``description`` (under ``properties``) is a schema like any
    other."""
    if isinstance(ours, list) and isinstance(recorded, list) and len(ours) == len(recorded):
        return [with_recorded_descriptions(mine, theirs) for mine, theirs in zip(ours, recorded, strict=True)]
    if not isinstance(ours, dict) or not isinstance(recorded, dict):
        return ours

    def is_description(key: str, value: Any) -> bool:
        return key == "description" and isinstance(value, str)

    out = {k: with_recorded_descriptions(v, recorded.get(k)) for k, v in ours.items() if not is_description(k, v)}
    if is_description("description", recorded.get("description")):
        out["description"] = recorded["description"]
    return out


def test_an_argument_named_description_is_compared_as_a_schema() -> None:
    ours = {"properties": {"description": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "x"}}}
    recorded = {"properties": {"description": {"type": "string", "description": "y"}}}
    assert with_recorded_descriptions(ours, recorded) == {
        "properties": {"description": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "y"}}}


@pytest.mark.parametrize("name", [*DOMAINS, "banking_knowledge"])
def test_our_schemas_have_taus_shape(name: str) -> None:
    """Every recorded tool of the domain's toolkit: the descriptions substituted, our schema is τ²-bench's
    (types, titles, defaults, ``$defs``, enums, a model-or-object union, an enum-or-string union)."""
    recorded = recording(name)
    toolkit = TOOLKITS[recorded["domain"]]
    compared = 0
    for side, request in (("agent", "agent_first_request"), ("user", "user_first_request")):
        ours = {s.name: s for s in toolkit.tool_specs(side)}
        for tool in recorded[request]["tools"] or []:
            function = tool["function"]
            if function["name"] == "KB_search":  # the retrieval configuration's, not the toolkit's
                continue
            mine = ours[function["name"]].parameters
            assert with_recorded_descriptions(mine, function["parameters"]) == function["parameters"], function["name"]
            compared += 1
    assert compared >= 4


@pytest.mark.parametrize("domain", DOMAINS)
def test_tools_are_shown_in_taus_order(domain: str) -> None:
    recorded = recording(domain)
    dom = load_domain(DATA / domain)
    text = recorded_text(WIRE, domain, dom.directory, dom.tasks, lambda task: dom.policy)
    for side, request in (("agent", "agent_first_request"), ("user", "user_first_request")):
        shown = text.shown_specs(side, dom.toolkit_cls.tool_specs(side))
        assert [s.to_openai() for s in shown] == (recorded[request]["tools"] or [])


def test_own_tool_order_is_definition_order_subclass_first() -> None:
    """τ²-bench's toolkit order: a class's own tools as defined, then its bases' (mock: the user's tools
    come from a base class)."""
    names = [s.name for s in TOOLKITS["mock"].tool_specs("agent")]
    assert names == [t["function"]["name"] for t in recording("mock")["agent_first_request"]["tools"]]


def test_a_tool_the_recording_lacks_keeps_its_own_spec_and_is_named(tmp_path: Path) -> None:
    wire = tmp_path / "wire"
    wire.mkdir()
    data = recording("mock")
    data["agent_first_request"]["tools"] = data["agent_first_request"]["tools"][1:]  # drop create_task
    (wire / "mock.json").write_text(json.dumps(data))
    dom = load_domain(DATA / "mock")
    text = recorded_text(wire, "mock", dom.directory, dom.tasks, lambda task: dom.policy)
    assert text.own_tool_names(dom.toolkit_cls) == ["create_task"]
    shown = text.shown_specs("agent", dom.toolkit_cls.tool_specs("agent"))
    assert shown[-1] == next(s for s in dom.toolkit_cls.tool_specs("agent") if s.name == "create_task")


# --- scenario rendering for the other tasks -----------------------------------------------------------------


def learned_labels() -> ScenarioLabels:
    dom = load_domain(DATA / "retail")
    return recorded_text(WIRE, "retail", dom.directory, dom.tasks, lambda task: dom.policy).scenario


def test_labels_are_learned_from_the_recordings_for_every_field() -> None:
    labels = learned_labels()
    assert labels.missing() == set()
    mock_system = system_of(recording("mock")["user_first_request"])
    assert f"\n{labels.labels['persona']}\n" in mock_system and f"\n{labels.labels['instructions']}\n" in mock_system


@pytest.mark.parametrize("case", ["no_known_info", "no_persona", "empty_persona", "multiline", "plain_instructions"])
def test_other_scenarios_render_by_taus_rules(case: str) -> None:
    """Missing fields are left out, a present one (even empty) keeps its label, values are indented a tab
    per level (blank lines not), the parts are joined by newlines."""
    labels = learned_labels().labels
    fields = {"domain": "d1", "reason_for_call": "why", "known_info": "k", "unknown_info": "u",
              "task_instructions": "do it"}
    scenario: dict[str, Any] = {"persona": "p", "instructions": dict(fields)}
    if case == "no_known_info":
        scenario["instructions"]["known_info"] = None
    if case == "no_persona":
        scenario["persona"] = None
    if case == "empty_persona":
        scenario["persona"] = ""
    if case == "multiline":
        scenario["instructions"]["reason_for_call"] = "line one\n\nline two"
    if case == "plain_instructions":
        scenario["instructions"] = "just\nthis"
    rendered = learned_labels().render(scenario)

    def field(name: str, value: str) -> str:
        label = labels[name]
        return label + (textwrap.indent(value, "\t") if label.endswith("\n") else value)

    parts = [] if scenario["persona"] is None else [labels["persona"], textwrap.indent(scenario["persona"], "\t")]
    instructions = scenario["instructions"]
    body = instructions if isinstance(instructions, str) else "\n".join(
        field(k, v) for k, v in instructions.items() if v is not None)
    assert rendered == "\n".join([*parts, labels["instructions"], textwrap.indent(body, "\t")])
    assert labels["domain"] + "d1" in rendered or isinstance(instructions, str)


def test_every_task_of_every_domain_renders() -> None:
    for domain in DOMAINS:
        dom = load_domain(DATA / domain)
        text = recorded_text(WIRE, domain, dom.directory, dom.tasks, lambda task, dom=dom: dom.policy)
        for task in dom.tasks[:200]:
            assert text.scenario.render(task["user_scenario"])


def test_a_recording_of_other_data_is_refused(tmp_path: Path) -> None:
    wire = tmp_path / "wire"
    wire.mkdir()
    (wire / "mock.json").write_text(json.dumps(recording("mock")))
    dom = load_domain(DATA / "mock")
    with pytest.raises(DataError, match="policy is not in it"):
        recorded_text(wire, "mock", dom.directory, dom.tasks, lambda task: "a policy of some other data")


def test_template_round_trip() -> None:
    template = Template.learn("<a>P</a><b>S</b>", [("policy", "P"), ("scenario", "S")], "x")
    assert template.render({"policy": "Q", "scenario": "T"}) == "<a>Q</a><b>T</b>"


# --- a τ²-bench checkout, read without running it -------------------------------------------------------------

CRASH = 'raise SystemExit("this module was executed")\n'


def mini_checkout(tmp_path: Path) -> Path:
    """A checkout in τ²-bench's layout, in the test's own words; every module exits if executed."""
    root = tmp_path / "checkout"
    src = root / "src" / "tau2"
    files = {
        "agent/llm_agent.py": CRASH + 'AGENT_INSTRUCTION = """\nBe a good agent.\n""".strip()\n'
                                      'SYSTEM_PROMPT = """\n[rules]\n{agent_instruction}\n[policy]\n{domain_policy}\n"""'
                                      '.strip()\n',
        "user/user_simulator.py": CRASH + 'SYSTEM_PROMPT = """\n{global_user_sim_guidelines}\n--\n{instructions}\n"""'
                                          '.strip()\n',
        "orchestrator/orchestrator.py": CRASH + 'DEFAULT_FIRST_AGENT_MESSAGE = Message(role="assistant", '
                                                'content="Hello there.")\n',
        "data_model/tasks.py": CRASH + textwrap.dedent('''
            class StructuredUserInstructions(BaseModel):
                def __str__(self):
                    lines = []
                    lines.append(f"Area: {self.domain}")
                    lines.append(f"Why:\\n{textwrap.indent(self.reason_for_call, tab)}")
                    if self.known_info is not None:
                        lines.append(f"Knows:\\n{textwrap.indent(self.known_info, tab)}")
                    if self.unknown_info is not None:
                        lines.append(f"Forgot:\\n{textwrap.indent(self.unknown_info, tab)}")
                    lines.append(f"Steps:\\n{textwrap.indent(self.task_instructions, tab)}")
                    return "\\n".join(lines)

            class UserScenario(BaseModel):
                def __str__(self):
                    lines = []
                    if self.persona is not None:
                        lines.append("Who:")
                        lines.append(textwrap.indent(self.persona, "\\t"))
                    lines.append("What:")
                    lines.append(textwrap.indent(str(self.instructions), "\\t"))
                    return "\\n".join(lines)
        '''),
        "domains/mock/tools.py": CRASH + textwrap.dedent('''
            class MockTools(ToolKitBase):
                @is_tool(ToolType.WRITE)
                def update_task_status(self, task_id: str, status: str) -> Task:
                    """Set a task's status.

                    Args:
                        task_id: Which task.
                        status: Its new status,
                            pending or completed.
                    """

                def helper(self):
                    """Not a tool."""

                @is_tool(ToolType.READ)
                def get_users(self) -> list:
                    """List the users.
                    One per line.
                    """

                @is_tool(ToolType.WRITE)
                def create_task(self, user_id: str, title: str, description: str = None) -> Task:
                    """Make a task.

                    Args:
                        user_id (str): Whose task.
                        title: Its title.
                        description: Its description.

                    Returns:
                        The task.
                    """

                @is_tool(ToolType.GENERIC)
                def transfer_to_human_agents(self, summary: str) -> str:
                    """Hand over to a person.

                    Args:
                        summary: What happened.
                    """
        '''),
    }
    for name, text in files.items():
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "pyproject.toml").write_text('[project]\nname = "tau2"\nversion = "9.9.9"\n')
    domain_dir = root / "data" / "tau2" / "domains" / "mock"
    domain_dir.mkdir(parents=True)
    for source in (DATA / "mock").iterdir():
        (domain_dir / source.name).symlink_to(source)
    guidelines = root / "data" / "tau2" / "user_simulator"
    guidelines.mkdir()
    (guidelines / "simulation_guidelines.md").write_text("Play a customer.\n")
    (guidelines / "simulation_guidelines_tools.md").write_text("Play a customer; use your tools.\n")
    return root


def test_a_checkout_is_read_with_ast_and_never_executed(tmp_path: Path) -> None:
    root = mini_checkout(tmp_path)
    domain_dir = root / "data" / "tau2" / "domains" / "mock"
    assert checkout_root(domain_dir) == root.resolve()
    text = checkout_text(root, "mock", domain_dir)
    assert text.source == SOURCE_CHECKOUT and text.version["package_version"] == "9.9.9"
    assert text.agent_prompt("POLICY") == "[rules]\nBe a good agent.\n[policy]\nPOLICY"
    assert text.greeting == "Hello there."
    scenario = {"persona": "calm", "instructions": {"domain": "mock", "reason_for_call": "a task",
                                                    "known_info": None, "unknown_info": "x",
                                                    "task_instructions": "ask"}}
    assert text.user_prompt(scenario, True) == ("Play a customer; use your tools.\n\n--\nWho:\n\tcalm\nWhat:\n"
                                                "\tArea: mock\n\tWhy:\n\t\ta task\n\tForgot:\n\t\tx\n\tSteps:\n\t\task")
    dom = load_domain(domain_dir)
    shown = text.shown_specs("agent", dom.toolkit_cls.tool_specs("agent"))
    assert [s.name for s in shown] == ["update_task_status", "get_users", "create_task", "transfer_to_human_agents"]
    by_name = {s.name: s for s in shown}
    assert by_name["get_users"].description == "List the users.\n\nOne per line."
    assert by_name["update_task_status"].parameters["properties"]["status"]["description"] == \
        "Its new status,\npending or completed."
    create = by_name["create_task"].parameters
    assert create["title"] == "parameters" and create["properties"]["user_id"]["description"] == "Whose task."
    assert by_name["create_task"].description == "Make a task."


def test_a_run_on_a_checkout_uses_its_text(tmp_path: Path) -> None:
    root = mini_checkout(tmp_path)
    domain_dir = root / "data" / "tau2" / "domains" / "mock"
    tasks = json.loads((DATA / "mock" / "tasks.json").read_text())
    (domain_dir / "tasks.json").unlink()
    (domain_dir / "tasks.json").write_text(json.dumps(tasks[:1]))
    with ScriptedOpenAIServer(both_sides("")) as server:
        proc = evalharness("run", "--model", "openai:m", "--base-url", server.base_url, "--task", "tau",
                           "--domain-dir", str(domain_dir), "--out", str(tmp_path / "runs"), "--no-progress",
                           "--no-report", "--max-turns", "3")
        first = server.log.bodies[0]
    assert proc.returncode == 0, proc.stderr
    assert first["messages"][0]["content"].startswith("Play a customer; use your tools.\n\n--\nWho:")
    assert first["messages"][1] == {"role": "user", "content": "Hello there."}
    manifest = json.loads(next((tmp_path / "runs").rglob("manifest.json")).read_text())
    assert manifest["tasks"][0]["prompts"]["source"] == SOURCE_CHECKOUT
    assert "NOT τ²-bench's" not in proc.stdout
