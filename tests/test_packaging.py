"""What the code imports is what ``pyproject.toml`` declares: a clean ``pip install .`` must run every task.

An import that works only because the developer's environment happens to hold the package (or another
package pulls it in) breaks on a fresh machine; these tests read the imports of the whole package with
``ast`` and check each against the declared dependencies.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "evalharness"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[\s]", requirement, maxsplit=1)[0].lower().replace("_", "-")


CORE = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
EXTRAS = {extra: {_name(r) for r in reqs} for extra, reqs in PYPROJECT["project"]["optional-dependencies"].items()}
# modules that only an extra's feature loads (lazily, with a message naming the extra when it is missing)
EXTRA_ONLY_MODULES = {"evalharness/serve.py": "local", "evalharness/mcp/client.py": "mcp",
                      "evalharness/mcp/toolbox.py": "mcp", "evalharness/mcp/serve.py": "mcp",
                      "evalharness/executors/ray_replicas.py": "ray",
                      "evalharness/executors/ray_executor.py": "ray",
                      "evalharness/executors/ray_limits.py": "ray"}


def third_party_imports(top_level_only: bool, skip: frozenset[str] = frozenset()) -> dict[str, set[str]]:
    """Imported top-level module -> the files importing it (module level only, or anywhere)."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if str(path.relative_to(ROOT)) in skip:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes = tree.body if top_level_only else list(ast.walk(tree))
        for node in nodes:
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("evalharness", "__future__"):
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def distributions(module: str) -> set[str]:
    """The distributions that provide ``module``; for one not installed here (an extra this environment
    lacks), the distribution of the same name."""
    names = packages_distributions().get(module) or [module]
    return {n.lower().replace("_", "-") for n in names}


def test_every_import_is_declared_somewhere() -> None:
    declared = CORE.union(*EXTRAS.values())
    missing = {m: sorted(files) for m, files in third_party_imports(top_level_only=False).items()
               if not distributions(m) & declared}
    assert not missing, f"imported but declared neither in dependencies nor in an extra: {missing}"


def test_module_level_imports_are_core_dependencies() -> None:
    """Whatever is imported when a module loads must come with a plain ``pip install .``; an extra's
    packages are imported inside the functions that need them."""
    imports = third_party_imports(top_level_only=True, skip=frozenset(EXTRA_ONLY_MODULES))
    missing = {m: sorted(files) for m, files in imports.items() if not distributions(m) & CORE}
    assert not missing, f"imported at module level but not a core dependency: {missing}"


def test_extra_only_modules_import_only_their_extra() -> None:
    for module, extra in EXTRA_ONLY_MODULES.items():
        imports = third_party_imports(top_level_only=True)
        used = {m for m, files in imports.items() if module in files}
        assert all(distributions(m) & (CORE | EXTRAS[extra]) for m in used), (module, used)
