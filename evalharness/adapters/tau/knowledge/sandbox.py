"""``grep`` and ``shell`` over the knowledge base, in one warm Docker container per run.

The documents are exported once per knowledge base into the cache and bind-mounted READ-ONLY at ``/kb``
into a container of the ``python`` sandbox image (no network, read-only root, no capabilities: the pool's
usual lock-down). A model's regular expression or command runs there, never in the harness: a pattern
that backtracks for minutes, or a command that fills memory, costs one timed-out call. The container
serves every sample of the run (its server answers one request at a time; a call takes milliseconds).

``/kb/files`` holds one Markdown file per document (its title as a heading) and ``INDEX.md``, the shell's
working directory; ``/kb/content`` holds each document's content alone, which ``grep`` counts matches in.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from evalharness.adapters.tau.knowledge.documents import KnowledgeBase, KnowledgeDocument, publish
from evalharness.errors import SandboxError
from evalharness.sandboxes.base import Sandbox, SandboxLimits
from evalharness.sandboxes.docker import DockerProvider

log = logging.getLogger(__name__)

MOUNT = "/kb"
FILES_DIR = f"{MOUNT}/files"
CONTENT_DIR = f"{MOUNT}/content"
GREP_TIMEOUT = 20.0
SHELL_TIMEOUT = 30.0
IMAGE = "python"

# Runs inside the container: ``argv[1]`` is the pattern; prints {document id: number of matches} for every
# document with at least one (case-insensitive Python regular expressions, as τ²-bench's grep retriever).
COUNT_MATCHES = r"""
import json, os, re, sys
try:
    pattern = re.compile(sys.argv[1], re.IGNORECASE)
except re.error as e:
    print(json.dumps({"error": str(e)}))
    sys.exit(0)
folder = sys.argv[2]
counts = {}
for name in sorted(os.listdir(folder)):
    with open(os.path.join(folder, name), encoding="utf-8") as fh:
        n = sum(1 for _ in pattern.finditer(fh.read()))
    if n:
        counts[name[:-len(".txt")]] = n
print(json.dumps({"counts": counts}))
"""


def export_documents(knowledge: KnowledgeBase) -> Path:
    """The folder mounted at ``/kb`` (made once per knowledge base)."""
    def write(target: Path) -> None:
        (target / "files").mkdir(parents=True)
        (target / "content").mkdir()
        index = ["# Knowledge base index", ""]
        for document in knowledge.documents:
            file_name = _file_name(document)
            (target / "files" / f"{file_name}.md").write_text(f"# {document.title}\n\n{document.content}\n",
                                                              encoding="utf-8")
            (target / "content" / f"{file_name}.txt").write_text(document.content, encoding="utf-8")
            index.append(f"- {file_name}.md: {document.title}")
        (target / "files" / "INDEX.md").write_text("\n".join(index) + "\n", encoding="utf-8")
    return publish(knowledge.cache / "sandbox-files", write)


def _file_name(document: KnowledgeDocument) -> str:
    """A document's id as a file name (the ids are plain; a slash would make a folder)."""
    return document.id.replace("/", "_")


class _KnowledgeProvider(DockerProvider):
    """The pool's containers, with the exported documents mounted read-only."""

    def __init__(self, source: Path, limits: SandboxLimits) -> None:
        super().__init__(IMAGE, limits, max_sandboxes=1)
        self.source = source

    def _run_container(self, image: str, **kwargs: Any) -> Any:
        from docker.types import Mount

        mount = Mount(target=MOUNT, source=str(self.source), type="bind", read_only=True)
        return super()._run_container(image, **{**kwargs, "mounts": [*kwargs.get("mounts", []), mount]})


class KnowledgeSandbox:
    """One container for a run's ``grep`` and ``shell`` calls; ``start`` in setup, ``close`` in teardown."""

    def __init__(self, knowledge: KnowledgeBase, limits: SandboxLimits | None = None) -> None:
        self.knowledge = knowledge
        self.limits = limits or SandboxLimits(memory_mb=512, tmp_mb=64, work_mb=16, cpus=1.0)
        self._provider: _KnowledgeProvider | None = None
        self._sandbox: Sandbox | None = None
        self._file_names = {_file_name(d): d for d in knowledge.documents}

    async def start(self) -> None:
        source = await asyncio.to_thread(export_documents, self.knowledge)
        self._provider = _KnowledgeProvider(source, self.limits)
        await self._provider.start()
        self._sandbox = await self._provider.acquire()

    async def close(self) -> None:
        if self._sandbox is not None:
            await self._sandbox.session.close()
            self._sandbox = None
        if self._provider is not None:
            await self._provider.close()
            self._provider = None

    @property
    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            raise SandboxError("the knowledge base's sandbox is not running (setup did not start it)")
        return self._sandbox

    async def count_matches(self, pattern: str) -> dict[KnowledgeDocument, int] | str:
        """Matches of ``pattern`` per document (those with any), or why the pattern could not be used."""
        result = await self.sandbox.exec(["python3", "-c", COUNT_MATCHES, pattern, CONTENT_DIR],
                                         timeout=GREP_TIMEOUT)
        if result.timed_out:
            return f"the pattern took longer than {GREP_TIMEOUT:g}s to match; use a simpler one"
        try:
            answer = json.loads(result.stdout)
        except ValueError:
            raise SandboxError(f"grep in the knowledge sandbox failed (exit code {result.exit_code}): "
                               f"{result.stderr.strip()[-300:]}") from None
        if "error" in answer:
            return f"invalid regular expression: {answer['error']}"
        return {self._file_names[name]: int(n) for name, n in answer["counts"].items() if name in self._file_names}

    async def run(self, command: str) -> tuple[int, str, str]:
        """A shell command in ``/kb/files``: exit code, stdout, stderr."""
        result = await self.sandbox.exec(["sh", "-c", command], timeout=SHELL_TIMEOUT, cwd=FILES_DIR)
        stderr = result.stderr
        if result.timed_out:
            stderr = (stderr + "\n" if stderr else "") + f"the command ran longer than {SHELL_TIMEOUT:g}s and was killed"
        return result.exit_code, result.stdout, stderr
