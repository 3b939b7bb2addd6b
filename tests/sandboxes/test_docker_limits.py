"""The writable space of a Docker sandbox is bounded, and filling it is the code's problem only: a full
``/work`` or ``/tmp`` is ENOSPC for the code, never a broken session or a full host disk."""

from __future__ import annotations

from evalharness.sandboxes.base import SandboxLimits
from tests.sandboxes.support import OpenSandbox


FILL = """
import errno
block = b"x" * (1 << 20)
try:
    with open(PATH, "wb") as f:
        while True:
            f.write(block)
except OSError as e:
    reason = errno.errorcode[e.errno]
reason
"""


async def test_work_is_bounded_and_a_full_work_is_an_ordinary_error(open_sandbox: OpenSandbox) -> None:
    box = await open_sandbox("docker", SandboxLimits(work_mb=32), max_sandboxes=1)
    size = await box.python("import os\nst = os.statvfs('/work')\nst.f_blocks * st.f_frsize >> 20")
    assert size.result == "32"
    mounts = await box.exec(["cat", "/proc/mounts"])
    assert [line.split()[2] for line in mounts.stdout.splitlines() if line.split()[1] == "/work"] == ["tmpfs"]
    full = await box.python(FILL.replace("PATH", "'big.bin'"))
    assert full.error is None and full.result == "'ENOSPC'"
    shown = await box.python("open('more.bin', 'wb').write(b'y' * (1 << 20))")
    assert shown.error is not None and shown.error.splitlines()[-1] == "OSError: [Errno 28] No space left on device"
    assert not shown.restarted
    assert (await box.python("print('alive')")).output == "alive\n"
    await box.exec(["rm", "big.bin"])
    await box.write_file("after.txt", b"room again")
    assert await box.read_file("after.txt") == b"room again"


async def test_a_full_tmp_does_not_break_the_session(open_sandbox: OpenSandbox) -> None:
    box = await open_sandbox("docker", SandboxLimits(tmp_mb=16), max_sandboxes=1)
    full = await box.python(FILL.replace("PATH", "'/tmp/fill.bin'"))
    assert full.error is None and full.result == "'ENOSPC'"
    alive = await box.python("print('alive')\n'and well'")
    assert (alive.output, alive.result, alive.error) == ("alive\n", "'and well'", None)
    assert (await box.exec(["echo", "commands too"])).stdout == "commands too\n"
