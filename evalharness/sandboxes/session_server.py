"""The process that runs inside every sandbox and executes model-written code on the harness's behalf.

It speaks JSON lines on its stdin/stdout: one request, one response. Keeping one process per sandbox
means a tool call costs a pipe round trip instead of a fresh ``docker exec``, and lets a Python
namespace live across calls (like a notebook kernel).

It must run on any Python >= 3.9 with the standard library only: it is sent to the sandbox as source
(``python3 -c``), never installed there. Model code must not be able to corrupt the protocol, so the
protocol uses private duplicates of fds 0/1 and the code sees /dev/null and a capture file instead.

Operations:
  ping                                  -> {"pid"}
  exec  argv, input, timeout, cwd, env  -> {"exit_code", "stdout", "stderr", "*_truncated", "timed_out"}
  py    code, timeout                   -> {"output", "output_truncated", "result", "error", "timed_out"}
"""

import ast
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

DEFAULT_MAX_OUTPUT = 1 << 20


class CellTimeout(BaseException):
    """Raised inside a running cell when its time is up; BaseException so ``except Exception`` in model
    code cannot swallow it."""


def _read_capped(stream, limit, sink):
    """Read a pipe to the end, keeping at most ``limit`` bytes: the process must never block on a full
    pipe, and a 100 MB print must not become a 100 MB message."""
    kept = []
    size = 0
    total = 0
    while True:
        chunk = stream.read(65536)
        if not chunk:
            break
        total += len(chunk)
        if size < limit:
            take = chunk[: limit - size]
            kept.append(take)
            size += len(take)
    sink.append(b"".join(kept))
    sink.append(total > limit)


def op_exec(req):
    limit = int(req.get("max_output") or DEFAULT_MAX_OUTPUT)
    timeout = req.get("timeout")
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
    out, err = [], []
    readers = [
        threading.Thread(target=_read_capped, args=(proc.stdout, limit, out), daemon=True),
        threading.Thread(target=_read_capped, args=(proc.stderr, limit, err), daemon=True),
    ]
    for t in readers:
        t.start()
    if data is not None:
        try:
            proc.stdin.write(data.encode())
            proc.stdin.close()
        except OSError:
            pass
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    _kill_group(proc.pid)  # also reaps children left running in the background
    proc.wait()
    for t in readers:
        t.join(5)
    out = out or [b"", False]
    err = err or [b"", False]
    return {
        "exit_code": proc.returncode,
        "stdout": out[0].decode("utf-8", "replace"),
        "stderr": err[0].decode("utf-8", "replace"),
        "stdout_truncated": out[1],
        "stderr_truncated": err[1],
        "timed_out": timed_out,
    }


def _kill_group(pgid):
    # A fork bomb keeps forking while we kill: repeat until the group is empty.
    for _ in range(50):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return
        except PermissionError:
            return
        time.sleep(0.01)


class PythonSession:
    def __init__(self):
        self.namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        self.capture = tempfile.TemporaryFile(mode="w+b")
        self.cell = 0

    def run(self, code, timeout, limit):
        self.cell += 1
        filename = "<cell %d>" % self.cell
        self.capture.seek(0)
        self.capture.truncate()
        result = error = None
        timed_out = False
        saved = os.dup(1), os.dup(2)
        os.dup2(self.capture.fileno(), 1)
        os.dup2(self.capture.fileno(), 2)
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
                    result = repr(value)
                    if len(result) > limit:
                        result = result[:limit] + "... [repr truncated]"
        except CellTimeout:
            timed_out = True
            error = "TimeoutError: the cell ran longer than %ss and was interrupted" % timeout
        except BaseException as e:  # the model's exception, shown to the model like a notebook would
            error = _format_exception(e, filename)
        finally:
            if timeout:
                signal.setitimer(signal.ITIMER_REAL, 0)
            try:
                text.flush()
            except Exception:
                pass
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            try:
                text.close()
            except Exception:
                pass
        size = os.fstat(self.capture.fileno()).st_size
        self.capture.seek(0)
        output = self.capture.read(limit).decode("utf-8", "replace")
        return {
            "output": output,
            "output_truncated": size > limit,
            "result": result,
            "error": error,
            "timed_out": timed_out,
        }


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


def main():
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # model code that reads stdin gets EOF, not our requests
    os.dup2(devnull, 1)
    session = PythonSession()
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
                resp = session.run(req["code"], req.get("timeout"), int(req.get("max_output") or DEFAULT_MAX_OUTPUT))
            else:
                resp = {"protocol_error": "unknown op %r" % op}
        except Exception as e:
            resp = {"protocol_error": "%s: %s" % (type(e).__name__, e)}
        resp["id"] = req.get("id")
        proto_out.write(json.dumps(resp).encode() + b"\n")
        proto_out.flush()


if __name__ == "__main__":
    main()
