"""What model-written code experiences, the same for both providers (``kind`` is "docker" or "local").

Everything runs for real: the in-sandbox server in a container from ``evalharness/python`` or in a local
subprocess.
"""

from __future__ import annotations

import hashlib
import os

import pytest

from evalharness.sandboxes.base import Sandbox, SandboxError, SandboxLimits
from tests.sandboxes.support import OpenSandbox, living_processes, unique_seconds

HUNDRED_MB = 100 << 20
CAP = SandboxLimits().max_output  # both fixtures use the default limits


# --- the persistent Python session -------------------------------------------------------------------


async def test_session_state_survives_between_calls(sandbox: Sandbox) -> None:
    first = await sandbox.python("import math\ncounter = 40\ndef bump(n):\n    return counter + n\n")
    assert first.error is None and first.result is None
    second = await sandbox.python("counter = bump(2)\ncounter")
    assert second.error is None
    assert second.result == "42"
    third = await sandbox.python("math.sqrt(counter - 26)")
    assert third.result == "4.0"
    assert not (first.restarted or second.restarted or third.restarted)


async def test_restart_python_loses_variables_but_not_files(sandbox: Sandbox) -> None:
    await sandbox.python("kept = 'before restart'\nopen('note.txt', 'w').write('still here')")
    assert (await sandbox.python("kept")).result == "'before restart'"
    await sandbox.restart_python()
    after = await sandbox.python("kept")
    assert after.error is not None and "NameError" in after.error
    assert (await sandbox.python("kept = 1\nkept + 1")).result == "2"  # the new session works
    assert (await sandbox.python("open('note.txt').read()")).result == "'still here'"


LAST_EXPRESSION_CASES = [
    # (code, repr shown as the result, printed output)
    ("x = 6\nx * 7", "42", ""),
    ("'a' + 'b'", "'ab'", ""),
    ("[i * i for i in range(4)]", "[0, 1, 4, 9]", ""),
    ("print('shown')\nNone", None, "shown\n"),
    ("print('printed, not a result')", None, "printed, not a result\n"),
    ("y = 3", None, ""),
    ("3\nz = 4", None, ""),  # only a *last* expression is shown
    ("if True:\n    5", None, ""),  # ...at the top level
    ("", None, ""),
]


async def test_value_of_the_last_expression_is_shown(sandbox: Sandbox) -> None:
    # one sandbox for all cases (a container start per case would dominate the suite's run time)
    for code, result, output in LAST_EXPRESSION_CASES:
        got = await sandbox.python(code)
        assert (got.result, got.output, got.error) == (result, output, None), code
    assert (await sandbox.python("42")).to_text() == "42"
    assert (await sandbox.python("print('a')\n7")).to_text() == "a\n7"
    assert (await sandbox.python("pass")).to_text() == "(no output)"


async def test_exception_traceback_is_limited_to_the_cell(sandbox: Sandbox) -> None:
    code = "print('before the error')\ndef inner(v):\n    return v / 0\n\ninner(1)\n"
    got = await sandbox.python(code)
    assert got.output == "before the error\n"
    assert got.result is None and not got.restarted
    error = got.error
    assert error is not None
    lines = error.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == "ZeroDivisionError: division by zero"
    frames = [line.strip() for line in lines if line.strip().startswith("File ")]
    # the cell's two frames only: nothing of the server that ran it (it is sent as `python3 -c` source)
    assert len(frames) == 2, error
    assert all(frame.startswith('File "<cell ') for frame in frames), error
    assert frames[0].endswith("line 5, in <module>") and frames[1].endswith("line 3, in inner")
    for server_detail in ("<string>", "session_server", "exec(compile", "def run"):
        assert server_detail not in error
    # the session survives the exception
    assert (await sandbox.python("inner")).result.startswith("<function inner")


async def test_library_and_syntax_errors(sandbox: Sandbox) -> None:
    got = await sandbox.python("import json\njson.loads('{broken')")
    assert got.error is not None
    frames = [line.strip() for line in got.error.splitlines() if line.strip().startswith("File ")]
    assert frames[0].startswith('File "<cell ')
    assert any("json" in frame for frame in frames[1:])  # the library's own frames are kept
    assert "<string>" not in got.error
    assert got.error.splitlines()[-1].startswith("json.decoder.JSONDecodeError")
    got = await sandbox.python("x = = 1")
    assert got.error is not None
    assert "SyntaxError" in got.error and "Traceback" not in got.error
    assert "<cell " in got.error


async def test_infinite_loop_in_a_cell_is_interrupted_and_the_session_lives(sandbox: Sandbox) -> None:
    await sandbox.python("survivor = 'kept'")
    # `except Exception` in the model's code must not be able to swallow the interrupt
    loop = "print('looping')\nwhile True:\n    try:\n        pass\n    except Exception:\n        pass\n"
    got = await sandbox.python(loop, timeout=1)
    assert got.timed_out
    assert not got.restarted
    assert got.error is not None and "TimeoutError" in got.error
    assert got.output == "looping\n"  # output written before the interrupt is kept
    assert (await sandbox.python("survivor")).result == "'kept'"
    assert sandbox.session.restarts == 0


async def test_cell_blocked_in_c_code_is_killed_and_the_session_restarted(sandbox: Sandbox) -> None:
    # Note: `ctypes.CDLL(None).sleep(30)` is NOT such a cell: SIGALRM interrupts nanosleep(2) with EINTR,
    # sleep(3) returns early and the CellTimeout is raised as for any Python loop (timed_out, no restart).
    # glibc's system(3) retries waitpid on EINTR, so `os.system` really stays in C until its child exits.
    seconds = unique_seconds()
    stuck = int((await sandbox.python("import os\ndoomed = 'variable'\nos.getpid()")).result)
    # the sleep lasts days: that the call returns at all shows it did not wait for the blocked C call
    got = await sandbox.python(f"print('before')\nimport os\nos.system('sleep {seconds}')", timeout=1)
    assert got.timed_out and got.restarted, got
    assert got.error is not None and "restarted" in got.error
    assert got.output == "before\n"  # what the cell printed before it got stuck is kept
    assert sandbox.session.restarts == 0  # the server replaced the cell's process and answered itself
    lost = await sandbox.python("doomed")
    assert lost.error is not None and "NameError" in lost.error
    assert (await sandbox.python("1 + 1")).result == "2"
    # the stuck process and the command it waited for really are gone, not left beside the replacement
    kernels = await living_processes(sandbox, "class CellTimeout")
    assert stuck not in [pid for pid, _, _ in kernels] and len(kernels) == 2, kernels  # the server, the new one
    assert await living_processes(sandbox, f"sleep {seconds}") == []


OPEN_FILES = """
import os, stat
files = []
for name in os.listdir("/proc/self/fd"):
    try:
        if stat.S_ISREG(os.fstat(int(name)).st_mode):
            files.append(os.readlink("/proc/self/fd/" + name))
    except OSError:
        pass
files
"""


async def test_the_session_keeps_no_files_where_the_code_writes(sandbox: Sandbox) -> None:
    """Output is captured through pipes: filling /tmp or the work dir cannot break the session."""
    await sandbox.python("print('a first cell')")
    got = await sandbox.python(OPEN_FILES)
    assert (got.error, got.result) == (None, "[]")


async def test_reading_a_directory_is_a_sandbox_error(sandbox: Sandbox) -> None:
    # its stated size is small whatever it holds: it is refused before its contents are read
    await sandbox.exec(["sh", "-c", "mkdir -p adir && head -c 20000000 /dev/zero > adir/big.bin"])
    with pytest.raises(SandboxError, match="not a regular file"):
        await sandbox.read_file("adir", max_bytes=1000)


# --- exec ----------------------------------------------------------------------------------------------


async def test_exec_infinite_loop_is_killed_with_its_background_children(sandbox: Sandbox) -> None:
    got = await sandbox.exec(["bash", "-c", "while :; do :; done"], timeout=1)
    assert got.timed_out
    assert got.exit_code != 0

    seconds = unique_seconds()
    # control: the scanner does find a live `sleep <seconds>` (started from the Python session, which the
    # exec timeout below has nothing to do with)
    await sandbox.python(f"import subprocess\ncontrol = subprocess.Popen(['sleep', '{seconds + 1}'])")
    assert [p[2] for p in await living_processes(sandbox, f"sleep {seconds + 1}")] == [f"sleep {seconds + 1}"]
    await sandbox.python("control.kill()\ncontrol.wait()")

    got = await sandbox.exec(["bash", "-c", f"sleep {seconds} & echo $!; while :; do :; done"], timeout=1)
    assert got.timed_out and got.exit_code != 0
    assert got.stdout.strip().isdigit()  # the background child had started
    assert await living_processes(sandbox, f"sleep {seconds}") == []
    after = await sandbox.exec(["echo", "next call works"])
    assert (after.exit_code, after.stdout, after.timed_out) == (0, "next call works\n", False)
    # a command that ends normally does not leave its background children running either
    seconds = unique_seconds()
    got = await sandbox.exec(["bash", "-c", f"sleep {seconds} & echo started"], timeout=30)
    assert (got.exit_code, got.stdout, got.timed_out) == (0, "started\n", False)
    assert await living_processes(sandbox, f"sleep {seconds}") == []


async def test_exec_input_env_cwd_and_exit_codes(sandbox: Sandbox) -> None:
    got = await sandbox.exec(["sh", "-c", "cat; echo \"$GREETING\"; pwd; echo oops >&2; exit 3"],
                             input="from stdin\n", env={"GREETING": "hello"})
    assert got.exit_code == 3
    assert got.stdout == f"from stdin\nhello\n{sandbox.workdir}\n"
    assert got.stderr == "oops\n"
    sub = await sandbox.exec(["mkdir", "-p", "sub/dir"])
    assert sub.exit_code == 0
    inside = await sandbox.exec(["pwd"], cwd=sandbox.resolve("sub/dir"))
    assert inside.stdout == sandbox.resolve("sub/dir") + "\n"
    got = await sandbox.exec(["no-such-program-xyz", "--flag"])  # an error result, not an exception
    assert got.exit_code == 127
    assert "no-such-program-xyz" in got.stderr
    assert (await sandbox.exec(["true"])).exit_code == 0


# --- output caps ---------------------------------------------------------------------------------------


async def test_python_printing_100mb_is_truncated_to_the_cap(sandbox: Sandbox) -> None:
    got = await sandbox.python(f"print('x' * {HUNDRED_MB})\n'done'")
    assert got.output_truncated
    assert len(got.output) == CAP
    assert set(got.output) == {"x"}
    assert got.result == "'done'" and got.error is None
    assert "[output truncated]" in got.to_text()
    small = await sandbox.python("print('small')")  # the next cell starts from an empty capture
    assert (small.output, small.output_truncated) == ("small\n", False)
    # a huge value of the last expression is cut too
    got = await sandbox.python(f"'r' * {4 * CAP}")
    assert got.result is not None
    assert got.result.endswith("... [repr truncated]")
    assert len(got.result) < 2 * CAP


async def test_exec_printing_100mb_is_truncated_to_the_cap(sandbox: Sandbox) -> None:
    got = await sandbox.exec(["sh", "-c", f"yes | head -c {HUNDRED_MB}; echo to-stderr >&2"], timeout=60)
    assert got.exit_code == 0 and not got.timed_out
    assert got.stdout_truncated and not got.stderr_truncated
    assert len(got.stdout) == CAP
    assert got.stdout[:6] == "y\ny\ny\n"
    assert got.stderr == "to-stderr\n"


# --- files ---------------------------------------------------------------------------------------------


async def test_binary_file_round_trip(sandbox: Sandbox) -> None:
    data = bytes(range(256)) * 8192 + os.urandom(1 << 20)  # every byte value, 3 MiB
    await sandbox.write_file("inputs/nested/blob.bin", data)
    assert await sandbox.read_file("inputs/nested/blob.bin") == data
    assert await sandbox.read_file(sandbox.resolve("inputs/nested/blob.bin")) == data  # absolute path
    # overwriting replaces the whole file
    await sandbox.write_file("f.txt", b"first version, longer")
    await sandbox.write_file("f.txt", b"second")
    assert await sandbox.read_file("f.txt") == b"second"
    assert (await sandbox.python("open('f.txt').read()")).result == "'second'"


async def test_written_file_is_visible_to_python_and_back(sandbox: Sandbox) -> None:
    data = bytes(range(256)) * 4096 + os.urandom(12345)
    await sandbox.write_file("given.bin", data)
    got = await sandbox.python(
        "import hashlib\nraw = open('given.bin', 'rb').read()\n(len(raw), hashlib.sha256(raw).hexdigest())"
    )
    assert got.error is None
    assert got.result == repr((len(data), hashlib.sha256(data).hexdigest()))
    # the code can also modify the file and write new ones that the harness reads back
    made = await sandbox.python(
        "import os\nos.makedirs('made/by', exist_ok=True)\nwith open('made/by/code.bin', 'wb') as f:\n"
        "    f.write(raw[::-1])\n"
    )
    assert made.error is None
    assert await sandbox.read_file("made/by/code.bin") == data[::-1]


async def test_reading_a_missing_or_too_large_file_raises(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError):
        await sandbox.read_file("does/not/exist.bin")
    with pytest.raises(SandboxError):
        await sandbox.read_file("missing.txt")
    await sandbox.write_file("big.bin", b"\0" * 5000)
    with pytest.raises(SandboxError):
        await sandbox.read_file("big.bin", max_bytes=4999)
    assert len(await sandbox.read_file("big.bin", max_bytes=5000)) == 5000


# --- memory --------------------------------------------------------------------------------------------


async def test_memory_bomb_is_stopped_and_reported(kind: str, open_sandbox: OpenSandbox) -> None:
    box = await open_sandbox(kind, SandboxLimits(memory_mb=512))
    await box.python("before = 'set before the bomb'")
    got = await box.python("hog = bytearray(4 << 30)\nlen(hog)", timeout=60)
    assert got.result is None and got.error is not None
    if kind == "docker":
        # the kernel's OOM killer ends the session server; the harness says so and starts a new session
        assert got.restarted, got
        assert "crashed" in got.error and "memory" in got.error
        assert (await box.python("1 + 1")).result == "2"
        gone = await box.python("before")
        assert gone.error is not None and "NameError" in gone.error
    else:
        # RLIMIT_AS makes the allocation fail inside the cell, which the model sees as a MemoryError
        assert not got.restarted
        assert got.error.splitlines()[-1] == "MemoryError"
        assert got.error.startswith("Traceback (most recent call last):")
        assert (await box.python("before")).result == "'set before the bomb'"
