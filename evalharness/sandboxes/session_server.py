"""The process that runs inside every sandbox and executes model-written code on the harness's behalf.

It speaks JSON lines on its stdin/stdout: one request, one response. Keeping one process per sandbox
means a tool call costs a pipe round trip instead of a fresh ``docker exec``, and lets a Python
namespace live across calls (like a notebook kernel).

It must run on any Python >= 3.9 with the standard library only: it is sent to the sandbox as source
(``python3 -c``), never installed there.

Model code must not be able to reach the protocol, so it never runs in this process. Cells run in a
*kernel*, a forked child that keeps the namespace and closes every descriptor but its own pipes before it
runs anything; commands run as children that inherit nothing but their three pipes. This process keeps
private, close-on-exec duplicates of the protocol descriptors and makes itself non-dumpable, so that code of
the same user can neither open them through ``/proc/<pid>/fd`` nor ptrace it. What the kernel sends back is
treated as untrusted: bounded, validated, and only ever about the cell it was asked to run. Output is read
from pipes and capped as it arrives, so nothing of the session lives in the sandbox's writable space and no
amount of printing grows a response past the caps.

Orphans of the sandbox's processes are adopted by this process (it is a child subreaper), so the harness
can find every process of a sandbox by walking down from it.

Operations:
  ping                                  -> {"pid"}
  exec  argv, input, timeout, cwd, env  -> {"exit_code", "stdout", "stderr", "*_truncated", "timed_out"}
  py    code, timeout                   -> {"output", "output_truncated", "result", "error", "timed_out",
                                            "session_lost", "exit_code"}

``session_lost`` says why the kernel had to be replaced during a cell (its variables are gone): "stuck"
(it did not stop when interrupted), "crashed" (it died; ``exit_code`` says how) or "broken" (it broke the
kernel protocol).
"""

import ast
import io
import json
import os
import selectors
import signal
import subprocess
import sys
import time
import traceback

DEFAULT_MAX_OUTPUT = 1 << 20
CHUNK = 65536
TICK = 0.05  # how often a running command is checked for having exited while its pipes stay open
DRAIN_SECONDS = 1.0  # how long output is still read after a command's process group was killed
KERNEL_GRACE = 2.0  # a cell's time to unwind after the interrupt, before its process is killed
LATE_OUTPUT_BYTES = 2 << 20  # what is still read after a cell's reply: its last (pipe-buffered) output

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


class CellTimeout(BaseException):
    """Raised inside a running cell when its time is up; BaseException so ``except Exception`` in model
    code cannot swallow it."""


# --- process plumbing --------------------------------------------------------------------------------


def _prctl(option, value):
    """Best effort: ctypes may be missing from a minimal Python, and then the sandbox is merely weaker."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except Exception:
        return False


def _close_all_but(keep):
    """Close every descriptor except ``keep``: a forked kernel must not hold the protocol."""
    low = 0
    for fd in sorted(keep) + [os.sysconf("SC_OPEN_MAX")]:
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1


def _kill_group(pgid):
    # A fork bomb keeps forking while we kill: repeat until the group is empty.
    for _ in range(50):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return
        if not _group_alive(pgid):
            return
        time.sleep(0.01)


def _group_alive(pgid):
    """Whether a process group still has a member that is not a zombie: killed processes this one adopted
    stay zombies until it reaps them, and kill() keeps succeeding on them."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def _reap_adopted(keep):
    """Collect orphans this process adopted as the subreaper once they exited; ``keep`` is the one child
    (the kernel) whose exit status is still wanted."""
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None or info.si_pid == keep:
            return
        try:
            os.waitpid(info.si_pid, 0)
        except ChildProcessError:
            return


class CappedBuffer:
    """Keeps the first ``limit`` bytes of a stream and counts the rest: a 100 MB print must not become a
    100 MB message, and the writer must never block on a full pipe."""

    def __init__(self, limit):
        self.limit = limit
        self.kept = bytearray()
        self.total = 0

    def add(self, chunk):
        self.total += len(chunk)
        room = self.limit - len(self.kept)
        if room > 0:
            self.kept += chunk[:room]

    @property
    def truncated(self):
        return self.total > self.limit

    def text(self):
        return bytes(self.kept).decode("utf-8", "replace")


def _pump(readers, deadline, finished, writer=None):
    """Move bytes between this process and a child's pipes until ``finished()`` or the deadline, never
    blocking on one pipe while another fills. ``readers`` maps a descriptor to a function taking each chunk
    (b"" at end of file); ``writer`` is (descriptor, bytes, called once they are written or the reader is
    gone). False if time ran out."""
    selector = selectors.DefaultSelector()
    for fd, sink in readers.items():
        selector.register(fd, selectors.EVENT_READ, sink)
    pending = memoryview(writer[1]) if writer is not None else b""
    if writer is not None:
        os.set_blocking(writer[0], False)
        if pending:
            selector.register(writer[0], selectors.EVENT_WRITE)
        else:
            writer[2]()
    try:
        while not finished():
            wait = TICK if deadline is None else min(TICK, deadline - time.monotonic())
            if wait <= 0:
                return False
            for key, events in selector.select(wait):
                if events & selectors.EVENT_WRITE:
                    try:
                        pending = pending[os.write(key.fd, pending[:CHUNK]):]
                    except BlockingIOError:
                        continue
                    except OSError:  # the reader is gone: what it did not read does not matter any more
                        pending = b""
                    if not pending:
                        selector.unregister(key.fd)
                        writer[2]()
                    continue
                try:
                    chunk = os.read(key.fd, CHUNK)
                except BlockingIOError:
                    continue
                key.data(chunk)
                if not chunk:
                    selector.unregister(key.fd)
        return True
    finally:
        selector.close()


def _deadline(timeout, extra=0.0):
    return None if not timeout else time.monotonic() + float(timeout) + extra


# --- exec ----------------------------------------------------------------------------------------------


def op_exec(req):
    limit = int(req.get("max_output") or DEFAULT_MAX_OUTPUT)
    env = dict(os.environ)
    env.update(req.get("env") or {})
    data = req.get("input")
    try:
        proc = subprocess.Popen(
            req["argv"],
            stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=req.get("cwd") or None,
            env=env,
            start_new_session=True,
        )
    except OSError as e:
        return {"exit_code": 127, "stdout": "", "stderr": "cannot execute %s: %s" % (req["argv"][0], e.strerror),
                "stdout_truncated": False, "stderr_truncated": False, "timed_out": False}
    out, err = CappedBuffer(limit), CappedBuffer(limit)
    open_fds = set()
    readers = {fd: _stream_sink(buffer, fd, open_fds)
               for fd, buffer in ((proc.stdout.fileno(), out), (proc.stderr.fileno(), err))}
    writer = None if data is None else (proc.stdin.fileno(), data.encode(), proc.stdin.close)
    try:
        exited = _pump(readers, _deadline(req.get("timeout")), lambda: proc.poll() is not None, writer)
        _kill_group(proc.pid)  # also ends children left running in the background
        proc.wait()
        # what is still in the pipes; a child that escaped the group may hold them open, hence the bound
        _pump({fd: readers[fd] for fd in open_fds}, time.monotonic() + DRAIN_SECONDS, lambda: not open_fds)
    finally:
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    return {
        "exit_code": proc.returncode,
        "stdout": out.text(),
        "stderr": err.text(),
        "stdout_truncated": out.truncated,
        "stderr_truncated": err.truncated,
        "timed_out": not exited,
    }


def _stream_sink(buffer, fd, open_fds):
    """A reader for ``_pump`` that fills ``buffer`` and keeps ``fd`` in ``open_fds`` until end of file."""
    open_fds.add(fd)

    def take(chunk):
        if chunk:
            buffer.add(chunk)
        else:
            open_fds.discard(fd)

    return take


# --- the kernel: the process that runs cells ----------------------------------------------------------


class PythonSession:
    """The namespace cells share, inside the kernel. Everything a cell prints goes to fds 1 and 2, the
    output pipe the supervisor reads."""

    def __init__(self):
        self.namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        self.cell = 0
        self.output = os.dup(1)  # to point fds 1 and 2 back at the pipe when a cell closed or moved them

    def run(self, code, timeout, limit):
        self.cell += 1
        filename = "<cell %d>" % self.cell
        result = error = None
        timed_out = False
        os.dup2(self.output, 1)
        os.dup2(self.output, 2)
        text = io.TextIOWrapper(os.fdopen(os.dup(1), "wb"), encoding="utf-8", errors="replace", line_buffering=True)
        sys.stdout = sys.stderr = text
        if timeout:
            signal.signal(signal.SIGALRM, _on_alarm)
            signal.setitimer(signal.ITIMER_REAL, float(timeout))
        try:
            tree = ast.parse(code, filename, "exec")
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            exec(compile(tree, filename, "exec"), self.namespace)
            if last is not None:
                value = eval(compile(last, filename, "eval"), self.namespace)
                if value is not None:
                    result = _cut(repr(value), limit, "... [repr truncated]")
        except CellTimeout:
            timed_out = True
            error = "TimeoutError: the cell ran longer than %ss and was interrupted" % timeout
        except BaseException as e:  # the model's exception, shown to the model like a notebook would
            error = _cut(_format_exception(e, filename), limit, "... [traceback truncated]")
        finally:
            if timeout:
                signal.setitimer(signal.ITIMER_REAL, 0)
            try:
                text.flush()
            except Exception:
                pass
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
            try:
                text.close()
            except Exception:
                pass
        return {"result": result, "error": error, "timed_out": timed_out}


def _cut(text, limit, note):
    return text if len(text) <= limit else text[:limit] + note


def _on_alarm(signum, frame):
    raise CellTimeout()


def _format_exception(exc, filename):
    """The traceback as the model should see it: only frames of its own code."""
    if isinstance(exc, SyntaxError):
        return "".join(traceback.format_exception_only(type(exc), exc)).rstrip()
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    lines = ["Traceback (most recent call last):\n"] if tb is not None else []
    if tb is not None:
        lines += traceback.format_tb(tb)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines).rstrip()


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def kernel_main(parent, requests, replies, output):
    """The forked kernel: it drops every descriptor of the supervisor before it runs any cell."""
    os.setpgid(0, 0)  # its own process group, so that a stuck cell is killed with everything it started
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the supervisor died before the line above took effect
        os._exit(0)
    _prctl(PR_SET_DUMPABLE, 1)  # an ordinary process again: it holds nothing the model may not see
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # model code that reads stdin gets EOF
    os.dup2(output, 1)
    os.dup2(output, 2)
    _close_all_but({0, 1, 2, requests, replies})
    session = PythonSession()
    for line in os.fdopen(requests, "rb"):
        try:
            request = json.loads(line)
            seq, code = request["seq"], request["code"]
            timeout, limit = request["timeout"], request["max_output"]
        except (ValueError, TypeError, KeyError):  # not from the supervisor: a cell wrote it on the pipe
            continue
        reply = session.run(code, timeout, limit)
        reply["seq"] = seq
        _write_all(replies, json.dumps(reply).encode() + b"\n")
    os._exit(0)


class KernelReply:
    """The kernel's answer to one cell, read as untrusted bytes: what the cell itself writes on the reply
    pipe is at most a reply for that same cell, other lines are skipped, and one too long breaks the kernel."""

    FIELDS = (("result", (str, type(None))), ("error", (str, type(None))), ("timed_out", bool))

    def __init__(self, seq, max_bytes):
        self.seq = seq
        self.max_bytes = max_bytes
        self.buffer = bytearray()
        self.value = None
        self.closed = False
        self.broken = False

    def add(self, chunk):
        if not chunk:
            self.closed = True
            return
        self.buffer += chunk
        while self.value is None and not self.broken:
            end = self.buffer.find(b"\n")
            if end < 0:
                self.broken = len(self.buffer) > self.max_bytes
                return
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 1]
            self._take(line)

    def _take(self, line):
        try:
            reply = json.loads(line)
            valid = isinstance(reply, dict) and all(isinstance(reply.get(k), t) for k, t in self.FIELDS)
        except ValueError:
            valid = False
        if len(line) > self.max_bytes:
            self.broken = True
        elif valid and reply.get("seq") == self.seq:
            self.value = reply
        # else: bytes a cell wrote on the pipe, or a reply to an earlier cell that was late because that
        # cell answered for itself: skipped

    def finished(self):
        return self.value is not None or self.closed or self.broken


class Kernel:
    """The supervisor's handle on one kernel process."""

    def __init__(self):
        requests_r, self.requests = os.pipe()
        self.replies, replies_w = os.pipe()
        self.output, output_w = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            try:
                kernel_main(parent, requests_r, replies_w, output_w)
            finally:
                os._exit(70)
        self.pid = pid
        try:
            os.setpgid(pid, pid)  # also here, so that killing its group works even before the child ran
        except OSError:
            pass
        for fd in (requests_r, replies_w, output_w):
            os.close(fd)
        os.set_blocking(self.output, False)
        self.seq = 0

    def run(self, code, timeout, limit):
        """Run one cell: the response to a ``py`` request, whose ``session_lost`` says whether (and why) this
        kernel is lost and must be replaced."""
        self.seq += 1
        request = json.dumps({"seq": self.seq, "code": code, "timeout": timeout, "max_output": limit})
        output = CappedBuffer(limit)
        reply = KernelReply(self.seq, 32 * limit + CHUNK)
        in_time = _pump({self.output: output.add, self.replies: reply.add}, _deadline(timeout, KERNEL_GRACE),
                        reply.finished, (self.requests, request.encode() + b"\n", _nothing))
        self._drain(output)
        response = {"output": output.text(), "output_truncated": output.truncated, "result": None,
                    "error": None, "timed_out": not in_time, "session_lost": None, "exit_code": None}
        if reply.value is not None:
            result, error = reply.value["result"], reply.value["error"]
            response["result"] = result and _cut(result, limit, "... [repr truncated]")
            response["error"] = error and _cut(error, limit, "... [traceback truncated]")
            response["timed_out"] = reply.value["timed_out"]
            return response
        exited = self._exit_status()
        response["session_lost"] = "stuck" if not in_time else "broken" if exited is None else "crashed"
        response["exit_code"] = exited
        return response

    def _drain(self, output):
        """What the cell printed just before it answered is still in the pipe."""
        budget = LATE_OUTPUT_BYTES
        while budget > 0:
            try:
                chunk = os.read(self.output, CHUNK)
            except BlockingIOError:
                return
            if not chunk:
                return
            output.add(chunk)
            budget -= len(chunk)

    def _exit_status(self):
        """How the kernel ended, or None when it is still running (it closed its reply pipe but lives on)."""
        for _ in range(100):  # a dying process closes its descriptors a moment before it can be waited for
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return None
            if pid:
                return _exit_code(status)
            time.sleep(0.01)
        return None

    def close(self):
        _kill_group(self.pid)
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        for fd in (self.requests, self.replies, self.output):
            os.close(fd)


def _exit_code(status):
    """Like ``Popen.returncode``: the exit status, or minus the signal that ended the process."""
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _nothing():
    pass


class Sessions:
    """The kernel a ``py`` request runs in, replaced when a cell loses it."""

    def __init__(self):
        self.kernel = None

    def run(self, req):
        limit = int(req.get("max_output") or DEFAULT_MAX_OUTPUT)
        code = req["code"]
        if not isinstance(code, str):
            raise TypeError("code must be a string")
        if self.kernel is None:
            self.kernel = Kernel()
        response = self.kernel.run(code, req.get("timeout"), limit)
        if response["session_lost"]:
            self.kernel.close()
            self.kernel = None
        return response

    @property
    def pid(self):
        return None if self.kernel is None else self.kernel.pid


def main():
    _prctl(PR_SET_DUMPABLE, 0)  # no process of the same user may open our descriptors or trace us
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    proto_in = os.fdopen(os.dup(0), "rb")  # os.dup: close-on-exec, so no command inherits them
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    sessions = Sessions()
    for line in proto_in:
        try:
            req = json.loads(line)
        except ValueError:
            continue
        op = req.get("op")
        try:
            if op == "ping":
                resp = {"pid": os.getpid()}
            elif op == "exec":
                resp = op_exec(req)
            elif op == "py":
                resp = sessions.run(req)
            else:
                resp = {"protocol_error": "unknown op %r" % op}
        except Exception as e:
            resp = {"protocol_error": "%s: %s" % (type(e).__name__, e)}
        resp["id"] = req.get("id")
        proto_out.write(json.dumps(resp).encode() + b"\n")
        proto_out.flush()
        _reap_adopted(sessions.pid)


if __name__ == "__main__":
    main()
