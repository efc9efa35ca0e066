"""Run one exercise of a submission in a separate, restricted process, and collect its events.

What the sandbox does (each protection is applied when the OS allows it, and the results file says which
ones were in force):

* a separate process (``_worker.py``), started with ``python -I -B`` and a minimal environment;
* wall-clock timeout (the grader kills the whole process tree) and CPU-time, memory, process-count,
  file-size and open-file limits (``setrlimit``);
* a fresh temporary working directory, owned by the student uid, holding only what the student's code
  writes; the hidden tests and expected answers never leave the grader's process;
* when the grader runs as root and ``unshare`` works: new network namespace (no network), new PID
  namespace (a fork bomb dies with the worker), new mount namespace in which the grader's files are
  covered by empty read-only directories and every world-writable directory is read-only; then the
  worker drops to an unprivileged uid of its own (one uid per concurrent worker).

Without root the worker runs as the grader's user with the resource limits only; ``Sandbox.describe()``
says so and the grader copies that sentence into every results file.
"""

import fcntl
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

WORKER = Path(__file__).resolve().parent / "_worker.py"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: First uid used for student code when running as root; each concurrent worker locks one uid.
UID_BASE = 61000
UID_COUNT = 512

WRITABLE_ROOTS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock", "/dev/mqueue")

MAX_EVENT_BYTES = 32 * 1024 * 1024
MAX_STDERR_BYTES = 64 * 1024
MAX_STUDENT_OUTPUT = 4_000


@dataclass
class Limits:
    """Resource limits for one exercise.

    Attributes
    ----------
    wall_seconds : float, wall-clock time for the whole exercise (cells and every hidden test)
    cpu_seconds : int, CPU time
    memory_mb : int, address space
    processes : int, processes of the student uid
    file_mb : int, size of any file the student's code writes (its printed output included)
    open_files : int
    """

    wall_seconds: float = 20.0
    cpu_seconds: int = 20
    memory_mb: int = 1024
    processes: int = 32
    file_mb: int = 8
    open_files: int = 256

    def as_dict(self):
        """dict of the limits the worker applies itself."""
        return {"cpu_seconds": int(self.cpu_seconds), "memory_mb": int(self.memory_mb),
                "processes": int(self.processes), "file_mb": int(self.file_mb),
                "open_files": int(self.open_files)}


@dataclass
class WorkerResult:
    """What came back from one worker run.

    Attributes
    ----------
    events : list of dict, the decoded JSON events, in order (untrusted plain data)
    status : "finished" | "timeout" | "crashed" | "no-start"
    returncode : int or None
    seconds : float, wall-clock time
    student_output : str, the first characters the student's code printed
    protections : dict, what the worker reported as applied
    stderr : str, the worker's own diagnostics (the start of it)
    leftover_processes : list of int, processes of the student uid still alive after the cleanup
        (always empty unless the kernel could not kill them in time)
    """

    events: list
    status: str
    returncode: object
    seconds: float
    student_output: str = ""
    protections: dict = field(default_factory=dict)
    stderr: str = ""
    leftover_processes: list = field(default_factory=list)


def unshare_available():
    """True when ``unshare`` can create network, PID and mount namespaces here (needs root).

    Returns
    -------
    bool
    """
    exe = shutil.which("unshare")
    if exe is None or os.geteuid() != 0:
        return False
    try:
        done = subprocess.run([exe, "--net", "--pid", "--fork", "--mount", "--mount-proc", "true"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


class _UidLease:
    """An unprivileged uid held for the duration of one worker run (a lock file per uid)."""

    def __init__(self, lock_dir):
        self.lock_dir = lock_dir
        self.handle = None
        self.uid = None

    def __enter__(self):
        os.makedirs(self.lock_dir, mode=0o700, exist_ok=True)
        start = (os.getpid() * 7 + threading.get_ident()) % UID_COUNT
        for k in range(UID_COUNT):
            uid = UID_BASE + (start + k) % UID_COUNT
            handle = open(os.path.join(self.lock_dir, f"uid-{uid}.lock"), "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            self.handle, self.uid = handle, uid
            return self
        raise RuntimeError(f"all {UID_COUNT} sandbox uids are in use")

    def __exit__(self, *exc):
        if self.handle is not None:
            self.handle.close()
        return False


class Sandbox:
    """Runs worker requests with every protection this machine allows.

    Parameters
    ----------
    limits : Limits
    isolate : bool or None, use namespaces and an unprivileged uid (None: whenever root and unshare work;
        True when they do not raises RuntimeError; False: resource limits only)
    hide : list of paths covered with empty read-only directories inside the sandbox (default: the
        project root holding the grader and the masters)
    expose : list of paths inside ``hide`` that stay visible read-only (default: the installed
        ``course_utils`` package and the Python environment)
    python : str, interpreter for the worker (default: this one)
    """

    def __init__(self, limits=None, isolate=None, hide=None, expose=None, python=None):
        self.limits = limits or Limits()
        available = unshare_available()
        if isolate and not available:
            raise RuntimeError("isolation needs root and a working `unshare` (util-linux); "
                               "run the grader as root or pass isolate=False")
        self.isolated = available if isolate is None else bool(isolate)
        self.python = python or sys.executable
        temp = os.path.realpath(tempfile.gettempdir())
        hide = [os.path.realpath(p) for p in (hide if hide is not None else _default_hide())]
        # never cover the directory that holds the sandbox's own working directories
        self.hide = [p for p in hide if not (temp + "/").startswith(p.rstrip("/") + "/")]
        self.expose = [str(p) for p in (expose if expose is not None else _default_expose())]
        self.temp_root = None

    def describe(self):
        """One sentence saying how student code is run (copied into every results file).

        Returns
        -------
        str
        """
        lim = self.limits
        base = (f"limits per exercise: {lim.wall_seconds:g} s wall clock, {lim.cpu_seconds} s CPU, "
                f"{lim.memory_mb} MB memory, {lim.processes} processes, {lim.file_mb} MB per file")
        if self.isolated:
            return ("Student code ran in a separate process as an unprivileged user, without network, "
                    "in its own PID and mount namespaces (grader files hidden, filesystem read-only except "
                    f"a temporary working directory); {base}.")
        reason = "the grader is not root" if os.geteuid() != 0 else "`unshare` is unavailable"
        return (f"Student code ran in a separate process with resource limits only ({reason}: no user "
                f"switch, no network or filesystem isolation); {base}.")

    def _workdir(self, uid):
        if self.temp_root is None or not os.path.isdir(self.temp_root):
            self.temp_root = tempfile.mkdtemp(prefix="autograder-")
            os.chmod(self.temp_root, 0o711)  # student uids may enter their own directory, not list others
        work = tempfile.mkdtemp(prefix="work-", dir=self.temp_root)
        if uid is not None:
            os.chown(work, uid, uid)
        os.chmod(work, 0o700)
        return work

    def close(self):
        """Remove the temporary directories this sandbox created."""
        if self.temp_root and os.path.isdir(self.temp_root):
            shutil.rmtree(self.temp_root, ignore_errors=True)
        self.temp_root = None

    def run(self, request):
        """Run one worker request (see ``_worker.py``) and return what came back.

        Parameters
        ----------
        request : dict with "cells", "function", "references", "forbidden", "calls"
            (the "sandbox" section is filled in here)

        Returns
        -------
        WorkerResult
        """
        if self.isolated:
            lock_dir = os.path.join(tempfile.gettempdir(), "autograder-uids")
            with _UidLease(lock_dir) as lease:
                return self._run(request, lease.uid)
        return self._run(request, None)

    def _run(self, request, uid):
        workdir = self._workdir(uid)
        try:
            config = {"workdir": workdir, "uid": uid, "gid": uid, "limits": self.limits.as_dict(),
                      "hide": self.hide if uid is not None else [],
                      "expose": self.expose, "writable_roots": list(WRITABLE_ROOTS),
                      "network_isolated": self.isolated}
            payload = json.dumps(dict(request, sandbox=config)).encode()
            command = [self.python, "-I", "-B", str(WORKER)]
            if self.isolated:
                command = [shutil.which("unshare"), "--net", "--pid", "--fork", "--mount", "--mount-proc",
                           "--kill-child"] + command
            env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir, "LANG": "C.UTF-8",
                   "MPLBACKEND": "Agg", "MPLCONFIGDIR": os.path.join(workdir, ".matplotlib"),
                   "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                   "TMPDIR": workdir}
            result = _communicate(command, payload, env, self.limits.wall_seconds)
            if uid is not None:  # while the uid is still ours: nothing it started may outlive the exercise
                _reap_uid(uid)
                result.leftover_processes = processes_of_uid(uid)
            result.student_output = _read_head(os.path.join(workdir, "output.txt"), MAX_STUDENT_OUTPUT)
            ready = next((e for e in result.events if e.get("event") == "ready"), None)
            if ready and isinstance(ready.get("protections"), dict):
                result.protections = ready["protections"]
            return result
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def _default_hide():
    """The project (grader, masters, tests, git history) and the home directories."""
    return [str(PROJECT_ROOT), "/root", "/home"]


def _default_expose():
    """The installed course library and the Python environment, wherever they live."""
    paths = [sys.prefix, os.path.realpath(sys.prefix), sys.base_prefix, os.path.realpath(sys.base_prefix)]
    import importlib.util  # local: only needed here
    spec = importlib.util.find_spec("course_utils")
    if spec is not None and spec.submodule_search_locations:
        paths.extend(spec.submodule_search_locations)
    return sorted(set(paths))


def processes_of_uid(uid):
    """PIDs of the processes whose owner is ``uid`` (read from /proc).

    Returns
    -------
    list of int
    """
    pids = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return pids
    for entry in entries:
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


def _reap_uid(uid, patience=15.0):
    """Kill every process left by a sandbox uid and wait until none remains (before the uid is reused)."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        pids = processes_of_uid(uid)
        if not pids:
            return True
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)
    return not processes_of_uid(uid)


def _read_head(path, limit):
    """The first ``limit`` characters of a text file written by student code ('' if there is none)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit * 4 + 1)
    except OSError:
        return ""
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", data.decode("utf-8", errors="replace"))  # colour codes
    return text[:limit] + ("\n... (output truncated)" if len(text) > limit else "")


def _kill_tree(process):
    """SIGKILL the worker's process group (and, through --kill-child, its PID namespace)."""
    for target in (lambda: os.killpg(process.pid, signal.SIGKILL), lambda: process.kill()):
        try:
            target()
        except (ProcessLookupError, PermissionError, OSError):
            pass


def _communicate(command, payload, env, wall_seconds):
    """Start the worker, feed it ``payload``, read its events and stderr (bounded), enforce the deadline.

    Returns
    -------
    WorkerResult (student_output and protections filled in by the caller)
    """
    start = time.monotonic()
    try:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=env, start_new_session=True, close_fds=True)
    except OSError as exc:
        return WorkerResult([], "no-start", None, 0.0, stderr=f"could not start the worker: {exc}")
    selector = selectors.DefaultSelector()
    out_fd, err_fd = process.stdout.fileno(), process.stderr.fileno()
    buffers = {out_fd: bytearray(), err_fd: bytearray()}
    caps = {out_fd: MAX_EVENT_BYTES, err_fd: MAX_STDERR_BYTES}
    for stream in (process.stdout, process.stderr):
        os.set_blocking(stream.fileno(), False)
        selector.register(stream.fileno(), selectors.EVENT_READ)
    stdin_fd = process.stdin.fileno()
    os.set_blocking(stdin_fd, False)
    selector.register(stdin_fd, selectors.EVENT_WRITE)
    to_send = memoryview(payload)
    deadline = start + wall_seconds
    status = None
    open_reads = 2
    exited_at = None
    while True:
        now = time.monotonic()
        if status is None and now > deadline:
            status = "timeout"
            _kill_tree(process)
            exited_at = now
        if exited_at is None and process.poll() is not None:
            exited_at = now
        if open_reads == 0 or (exited_at is not None and now - exited_at > 1.0):
            break  # both pipes closed, or a leftover grandchild keeps one open: stop reading
        for key, _ in selector.select(timeout=0.05):
            fd = key.fd
            if fd == stdin_fd:
                try:
                    written = os.write(fd, to_send[:65536])
                    to_send = to_send[written:]
                except (BrokenPipeError, OSError):
                    to_send = to_send[:0]
                if not to_send:
                    selector.unregister(fd)
                    process.stdin.close()
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            if not chunk:
                selector.unregister(fd)
                open_reads -= 1
                continue
            room = caps[fd] - len(buffers[fd])
            if room > 0:
                buffers[fd] += chunk[:room]
    selector.close()
    if process.poll() is None:
        _kill_tree(process)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    for stream in (process.stdin, process.stdout, process.stderr):
        try:
            stream.close()
        except OSError:
            pass
    seconds = time.monotonic() - start
    events = []
    for line in bytes(buffers[out_fd]).splitlines():
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(event, dict):
            events.append(event)
    stderr = bytes(buffers[err_fd]).decode("utf-8", errors="replace")
    if status is None:
        finished = any(e.get("event") == "done" for e in events)
        status = "finished" if finished else "crashed"
    return WorkerResult(events, status, process.returncode, seconds, stderr=stderr)

