"""Run one exercise of a submission in a separate, restricted process, and collect its events.

What the sandbox does (each protection is applied when the OS allows it; ``Sandbox.describe()`` says
which ones were in force, and the grader copies that sentence into every results file):

* a separate process (``_worker.py``, started from a root-owned copy with ``python -I -B`` and a minimal
  environment); the request goes in on stdin before any student code runs; events come back on a pipe,
  student output on another pipe, both read by the grader up to a fixed size: the grader never opens a
  file of the sandbox's work folder after student code ran;
* wall-clock timeout, CPU-time, memory (address space), process-count, file-size and open-file limits
  (``setrlimit``), and no new privileges (``PR_SET_NO_NEW_PRIVS``: set-uid programs do not elevate);
* when the grader runs as root: student code runs as an unprivileged uid of its own (one per concurrent
  worker), with or without namespaces; the grader's package directory is made unreadable to other users;
* as root with a writable cgroup filesystem (v2, or v1 ``memory`` + ``pids``): memory and processes are
  limited for the whole submission together, and every process is killed through its control group;
  without one, the process limit is lowered so that processes x memory stays bounded;
* as root when ``unshare`` works: new network, PID, IPC and mount namespaces; the worker builds its own
  root (system directories, the Python environment and the course library read-only, an empty
  fixed-size tmpfs work folder) and pivots into it, so nothing else of the machine is visible; killing
  the namespace's init kills every process the submission started.

Without root the worker runs as the grader's user with the resource limits only.
"""

import atexit
import ctypes
import ctypes.util
import fcntl
import functools
import json
import os
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.cgroups import create_group, kill_until_gone

__all__ = ["Limits", "WorkerResult", "Sandbox", "unshare_available", "processes_of_uid", "UID_BASE",
           "UID_COUNT", "protect_grader_files", "clean_output"]

WORKER = Path(__file__).resolve().parent / "_worker.py"
PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent

#: First uid used for student code when running as root; each concurrent worker locks one uid.
UID_BASE = 61000
UID_COUNT = 512

#: Places any user may write to; without namespaces, files the sandbox uid leaves there are removed.
WRITABLE_ROOTS = ("/tmp", "/var/tmp", "/dev/shm")

MAX_EVENT_BYTES = 4 * 1024 * 1024
MAX_EVENT_LINE = 2 * 1024 * 1024
MAX_EVENT_CONTAINERS = 20_000
KNOWN_EVENTS = frozenset({"ready", "cell", "demo", "function", "observation", "done"})
MAX_STDERR_BYTES = 64 * 1024
MAX_STUDENT_OUTPUT = 4_000
UNSHARE_FLAGS = ["--net", "--pid", "--ipc", "--mount", "--fork", "--kill-child"]
_BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
             "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass
class Limits:
    """Resource limits for one exercise (one worker run: the setup cells, the cell and every hidden test).

    Attributes
    ----------
    wall_seconds : float, wall-clock time
    cpu_seconds : int, CPU time
    memory_mb : int, memory: for all processes together when a control group is available, else per
        process (address space)
    processes : int, processes (and threads) together
    file_mb : int, size of any file the student's code writes
    open_files : int
    disk_mb : int, size of the work folder (a tmpfs, with namespaces)
    processes_without_cgroup : int, process limit used when no control group bounds the total memory
        (memory_mb x this is then the most the submission can hold)
    """

    wall_seconds: float = 20.0
    cpu_seconds: int = 20
    memory_mb: int = 1024
    processes: int = 32
    file_mb: int = 8
    open_files: int = 256
    disk_mb: int = 64
    processes_without_cgroup: int = 4

    def as_dict(self, cgroup=False):
        """dict of the limits the worker applies itself (the process limit depends on ``cgroup``)."""
        processes = self.processes if cgroup else min(self.processes, self.processes_without_cgroup)
        return {"cpu_seconds": int(self.cpu_seconds), "memory_mb": int(self.memory_mb),
                "processes": int(processes), "file_mb": int(self.file_mb),
                "open_files": int(self.open_files), "disk_mb": int(self.disk_mb)}


@dataclass
class WorkerResult:
    """What came back from one worker run.

    Attributes
    ----------
    events : list of dict, the decoded JSON events, in order (untrusted plain data)
    status : "finished" | "timeout" | "crashed" | "no-start"
    returncode : int or None (negative: killed by that signal)
    seconds : float, wall-clock time
    student_output : str, the first characters the student's code printed
    protections : dict, what the worker reported as applied
    stderr : str, the worker's own diagnostics (the start of it)
    leftover_processes : list of int, processes of the submission still alive after the cleanup
        (always empty unless the kernel could not kill them in time)
    channel_full : bool, more than ``MAX_EVENT_BYTES`` arrived on the event channel (the rest was dropped)
    memory_peak_mb : float or None, the most memory all processes of the run held together (cgroup)
    """

    events: list
    status: str
    returncode: object
    seconds: float
    student_output: str = ""
    protections: dict = field(default_factory=dict)
    stderr: str = ""
    leftover_processes: list = field(default_factory=list)
    channel_full: bool = False
    memory_peak_mb: object = None


@functools.lru_cache(maxsize=1)
def _unshare_works():
    exe = shutil.which("unshare")
    if exe is None or os.geteuid() != 0:
        return False
    try:
        done = subprocess.run([exe] + UNSHARE_FLAGS + ["true"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def unshare_available():
    """True when ``unshare`` can create network, PID, IPC and mount namespaces here (needs root).

    ``AUTOGRADER_NAMESPACES=0`` in the environment makes it False (what a container that refuses
    ``unshare`` looks like; used by the tests of the no-namespace path).

    Returns
    -------
    bool
    """
    if os.environ.get("AUTOGRADER_NAMESPACES", "1") == "0":
        return False
    return _unshare_works()


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
            fd = os.open(os.path.join(self.lock_dir, f"uid-{uid}.lock"),
                         os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.handle, self.uid = fd, uid
            return self
        raise RuntimeError(f"all {UID_COUNT} sandbox uids are in use")

    def __exit__(self, *exc):
        if self.handle is not None:
            os.close(self.handle)
        return False


_STAGE_LOCK = threading.Lock()
_STAGED = {}


def _staged_worker():
    """Path of a root-owned, world-readable copy of ``_worker.py`` (the grader's own folder is private)."""
    with _STAGE_LOCK:
        path = _STAGED.get("worker")
        if path and os.path.isfile(path):
            return path
        folder = tempfile.mkdtemp(prefix="autograder-worker-")
        os.chmod(folder, 0o755)
        path = os.path.join(folder, "_worker.py")
        shutil.copyfile(WORKER, path)
        os.chmod(path, 0o644)
        atexit.register(shutil.rmtree, folder, True)
        _STAGED["worker"] = path
        return path


def protect_grader_files(package_dir=PACKAGE_DIR):
    """Make the grader's package (hidden tests in ``specs.py``) unreadable to every user but its owner.

    Done whenever the grader runs as root, so that student code, which runs as another uid, cannot read
    it even without namespaces. Returns True when the folder is private.
    """
    try:
        mode = os.stat(package_dir).st_mode
        if mode & 0o077:
            os.chmod(package_dir, stat.S_IMODE(mode) & 0o700)
        return not os.stat(package_dir).st_mode & 0o077
    except OSError:
        return False


def _reachable_by_others(path):
    """True when every folder above ``path`` lets other users through (so a sandbox uid can load it)."""
    current = os.path.realpath(path)
    while True:
        try:
            if not os.stat(current).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
        parent = os.path.dirname(current)
        if parent == current:
            return True
        current = parent


class Sandbox:
    """Runs worker requests with every protection this machine allows.

    Parameters
    ----------
    limits : Limits
    isolate : bool or None, use namespaces (None: whenever root and unshare work; True when they do not
        raises RuntimeError; False: none). As root, student code runs as an unprivileged uid either way.
    hide : list of paths private to the grader (kept for reporting; with namespaces nothing outside the
        exposed paths is visible at all)
    expose : list of paths shown read-only inside the sandbox's own root (default: the Python
        environment and the installed ``course_utils`` package)
    python : str, interpreter for the worker (default: this one)
    """

    def __init__(self, limits=None, isolate=None, hide=None, expose=None, python=None):
        self.limits = limits or Limits()
        self.as_root = os.geteuid() == 0
        available = unshare_available()
        if isolate and not available:
            raise RuntimeError("isolation needs root and a working `unshare` (util-linux); "
                               "run the grader as root or pass isolate=False")
        self.isolated = available if isolate is None else bool(isolate)
        self.python = python or sys.executable
        self.hide = [os.path.realpath(p) for p in (hide if hide is not None else _default_hide())]
        self.expose = [str(p) for p in (expose if expose is not None else _default_expose())]
        self.temp_root = None
        self.grader_files_private = protect_grader_files() if self.as_root else False
        self.cgroup_used = None
        _ForkServer.get(self.python, self.as_root)  # started now: its imports overlap the grader's own work

    def describe(self):
        """One sentence saying how student code is run (copied into every results file).

        Returns
        -------
        str
        """
        lim = self.limits
        grouped = self.cgroup_used if self.cgroup_used is not None else False
        processes = lim.processes if grouped else min(lim.processes, lim.processes_without_cgroup)
        memory = (f"{lim.memory_mb} MB memory for all its processes together" if grouped else
                  f"{lim.memory_mb} MB memory per process")
        base = (f"limits per exercise: {lim.wall_seconds:g} s wall clock, {lim.cpu_seconds} s CPU, {memory}, "
                f"{processes} processes, {lim.file_mb} MB per file")
        if not self.as_root:
            return (f"Student code ran in a separate process with resource limits only (the grader is not "
                    f"root: no user switch, no network or filesystem isolation); {base}.")
        if self.isolated:
            return ("Student code ran in a separate process as an unprivileged user with no new privileges, "
                    "without network, in its own PID, IPC and mount namespaces: it saw only the system's "
                    "read-only files, the Python environment, the course library and an empty work folder "
                    f"of {lim.disk_mb} MB; {base}.")
        note = "" if _reachable_by_others(sys.base_prefix) else (
            f" (the Python installation in {sys.base_prefix} is not readable by other users, so student code "
            f"could import only modules loaded before it started)")
        return ("Student code ran in a separate process as an unprivileged user with no new privileges, "
                f"without namespaces ({'turned off' if unshare_available() else '`unshare` is unavailable'}): "
                "the grader's files were unreadable to it, "
                f"but the network and the machine's world-readable files were not hidden{note}; {base}.")

    def _temp_root(self):
        if self.temp_root is None or not os.path.isdir(self.temp_root):
            self.temp_root = tempfile.mkdtemp(prefix="autograder-")
            os.chmod(self.temp_root, 0o711)  # student uids may enter their own directory, not list others
        return self.temp_root

    def _folders(self, uid):
        """(work folder path, new root folder or None): the work folder exists only inside the new root
        when namespaces are used; otherwise it is a private folder owned by the sandbox uid."""
        root = self._temp_root()
        if self.isolated:
            new_root = tempfile.mkdtemp(prefix="root-", dir=root)
            return os.path.join(root, "work-" + os.path.basename(new_root)[5:]), new_root
        work = tempfile.mkdtemp(prefix="work-", dir=root)
        if uid is not None:
            os.chown(work, uid, uid)
        os.chmod(work, 0o700)
        return work, None

    def close(self):
        """Remove the temporary directories this sandbox created."""
        if self.temp_root and os.path.isdir(self.temp_root):
            shutil.rmtree(self.temp_root, ignore_errors=True)
        self.temp_root = None

    def run(self, request):
        """Run one worker request (see ``_worker.py``) and return what came back.

        Parameters
        ----------
        request : dict with "cells", "function", "references", "forbidden", "judge" (and optionally "preload",
            "warm": trusted module names and exercise names for the fork server)
            (the "sandbox" section is filled in here)

        Returns
        -------
        WorkerResult
        """
        if self.as_root:
            lock_dir = os.path.join(tempfile.gettempdir(), "autograder-uids")
            with _UidLease(lock_dir) as lease:
                return self._run(request, lease.uid)
        return self._run(request, None)

    def _command(self):
        worker = _staged_worker() if self.as_root else str(WORKER)
        command = [self.python, "-I", "-B", worker]
        if self.isolated:
            command = [shutil.which("unshare")] + UNSHARE_FLAGS + command
        return command

    def _run(self, request, uid):
        group = create_group(self.limits.memory_mb, self.limits.processes) if self.as_root else None
        self.cgroup_used = group is not None
        workdir, new_root = self._folders(uid)
        read_out = None
        try:
            config = {"workdir": workdir, "new_root": new_root, "uid": uid, "gid": uid,
                      "limits": self.limits.as_dict(cgroup=group is not None), "expose": self.expose,
                      "namespaces": self.isolated, "cgroup_procs": group.procs_files if group else []}
            env = dict(_BASE_ENV, HOME=workdir, MPLCONFIGDIR=os.path.join(workdir, ".matplotlib"),
                       TMPDIR=workdir)
            server = _ForkServer.get(self.python, self.as_root)
            read_out, write_out = os.pipe()
            if server is not None:
                start = functools.partial(_fork_start, server, env, self.isolated, write_out,
                                          functools.partial(_popen_start, self._command(), env, write_out),
                                          (request.get("preload", ()), request.get("warm", ())))
            else:
                start = functools.partial(_popen_start, self._command(), env, write_out)
            payload = {True: json.dumps(dict(request, sandbox=dict(config, output_fd=3))).encode(),
                       False: json.dumps(dict(request, sandbox=dict(config, output_fd=write_out))).encode()}
            result = _communicate(start, payload, self.limits.wall_seconds, read_out, write_out)
            result.leftover_processes = _clean_up(group, uid, self.isolated)
            peak = group.memory_peak() if group is not None else None
            result.memory_peak_mb = peak / 2**20 if peak is not None else None
            ready = next((e for e in result.events if e.get("event") == "ready"), None)
            if ready and isinstance(ready.get("protections"), dict):
                result.protections = ready["protections"]
            return result
        finally:
            if read_out is not None:
                _close(read_out)
            if group is not None:
                group.remove()
            for folder in (workdir, new_root):
                if folder:
                    shutil.rmtree(folder, ignore_errors=True)


class _ForkServer:
    """A long-lived process (``_worker.py --zygote``) that imports numpy and, as runs ask for them, the
    trusted modules they need (the grader's references and the masters' setup imports: never a name taken
    from a submission); each run is a fork of it, so it does not pay for those imports again. Each child
    is isolated exactly as a freshly started worker (namespaces entered in the child, then the same
    ``setup_sandbox``). ``AUTOGRADER_FORKSERVER=0`` turns it off (every run starts a new process)."""

    _lock = threading.Lock()
    _servers = {}

    def __init__(self, python, as_root):
        import socket  # local: only the fork server needs it
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        config_dir = tempfile.mkdtemp(prefix="autograder-mpl-")
        os.chmod(config_dir, 0o755)
        env = dict(_BASE_ENV, HOME=config_dir, MPLCONFIGDIR=config_dir, TMPDIR=config_dir)
        worker = _staged_worker() if as_root else str(WORKER)
        self.process = subprocess.Popen([python, "-I", "-B", worker, "--zygote", "numpy",
                                         str(child.fileno())], pass_fds=(child.fileno(),), env=env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        child.close()
        self.sock, self.send_lock = parent, threading.Lock()
        atexit.register(self.close)
        atexit.register(shutil.rmtree, config_dir, True)

    @classmethod
    def get(cls, python, as_root):
        """The fork server for ``python`` (started on first use, restarted if it died), or None."""
        if os.environ.get("AUTOGRADER_FORKSERVER", "1") == "0":
            return None
        with cls._lock:
            server = cls._servers.get(python)
            if server is None or server.process.poll() is not None:
                try:
                    server = cls._servers[python] = cls(python, as_root)
                except OSError:
                    return None
            return server

    def close(self):
        """Stop the server (its running children are the grader's to kill)."""
        try:
            self.sock.close()
            self.process.kill()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass

    def spawn(self, env, namespaces, child_fds, preload=((), ())):
        """Fork a worker holding ``child_fds`` (stdin, stdout, stderr, output), after importing the trusted
        modules ``preload[0]`` in the server and running the judges of the exercises ``preload[1]`` once
        on their public cases (what they memoise is inherited); return (pid, reply socket, pidfd), or None
        on failure."""
        import socket  # local: only the fork server needs it
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with self.send_lock:
                request = {"env": env, "namespaces": namespaces, "preload": list(preload[0]),
                           "warm": list(preload[1])}
                socket.send_fds(self.sock, [json.dumps(request).encode()],
                                [theirs.fileno()] + list(child_fds))
            theirs.close()
            mine.settimeout(60)
            message, fds, _, _ = socket.recv_fds(mine, 4096, 1)
            pid = json.loads(message)["pid"]
        except (OSError, ValueError, KeyError):
            mine.close()
            return None
        return pid, mine, (fds[0] if fds else None)


class _ForkedWorker:
    """A worker forked by the fork server, with what ``_communicate`` uses of a Popen object."""

    def __init__(self, pid, reply, pidfd, pipes):
        self.pid, self.reply, self.pidfd = pid, reply, pidfd
        self.stdin, self.stdout, self.stderr = pipes
        self.returncode = None
        reply.setblocking(False)

    def poll(self):
        """The exit status (negative: killed by that signal), as the fork server reports it; or None."""
        if self.returncode is None:
            try:
                data = self.reply.recv(4096)
            except BlockingIOError:
                return None
            except OSError:
                data = b""
            try:
                self.returncode = os.waitstatus_to_exitcode(json.loads(data)["status"])
            except (ValueError, KeyError):
                self.returncode = -signal.SIGKILL  # the fork server is gone: its child died with it
            self._close_pidfd()
        return self.returncode

    def kill(self):
        """SIGKILL the worker through its pidfd (never a reused pid)."""
        if self.pidfd is not None and self.returncode is None:
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except OSError:
                pass

    def wait(self, timeout):
        """Wait for the status (polling the server's report); raise TimeoutExpired after ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("worker", timeout)
            time.sleep(0.005)
        self.reply.close()
        return self.returncode

    def _close_pidfd(self):
        if self.pidfd is not None:
            _close(self.pidfd)
            self.pidfd = None


def _close(fd):
    try:
        os.close(fd)
    except OSError:
        pass


def _clean_up(group, uid, isolated):
    """Kill everything the submission started and remove what it left; return pids still alive."""
    leftover = group.kill() if group is not None else []
    if uid is not None:  # while the uid is still ours: nothing it started may outlive the exercise
        _reap_uid(uid)
        if not isolated:  # its own IPC namespace and root vanish with it; without them, clean by owner
            _remove_ipc_of(uid)
            _remove_files_of(uid)
        leftover = sorted(set(leftover) | set(processes_of_uid(uid)))
    return leftover


def _default_hide():
    """The project (grader, masters, tests, git history) and the home directories."""
    return [str(PROJECT_ROOT), "/root", "/home"]


def _default_expose():
    """The Python environment and the installed course library, wherever they live."""
    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    import importlib.util  # local: only needed here
    spec = importlib.util.find_spec("course_utils")
    if spec is not None and spec.submodule_search_locations:
        paths.extend(spec.submodule_search_locations)
    for path in sys.path:  # site-packages outside the prefixes (e.g. --user installs)
        if path.endswith("-packages") and os.path.isdir(path):
            paths.append(path)
    return sorted({os.path.realpath(p) for p in paths} | set(paths))


def _is_zombie(pid):
    """True for a process that has exited and waits to be reaped (it holds no resources; SIGKILL is moot)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read(4096).rpartition(b")")[2][:3].strip() == b"Z"
    except OSError:
        return True


def processes_of_uid(uid):
    """PIDs of the live (not zombie) processes whose owner is ``uid`` (read from /proc).

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
                if os.stat(f"/proc/{entry}").st_uid == uid and not _is_zombie(entry):
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


def _reap_uid(uid, patience=15.0):
    """Kill every process left by a sandbox uid and wait until none remains (before the uid is reused)."""
    return not kill_until_gone(lambda: processes_of_uid(uid), time.monotonic() + patience)


def _sysv_ids(kind, uid):
    """ids of the System V IPC objects of ``kind`` ("shm", "msg", "sem") owned or created by ``uid``."""
    try:
        with open(f"/proc/sysvipc/{kind}", encoding="ascii", errors="replace") as handle:
            lines = handle.read(1 << 22).splitlines()
    except OSError:
        return []
    if not lines:
        return []
    names = lines[0].split()
    key = {"shm": "shmid", "msg": "msqid", "sem": "semid"}[kind]
    ids = []
    for line in lines[1:]:
        row = dict(zip(names, line.split()))
        if str(uid) in (row.get("uid"), row.get("cuid")) and row.get(key, "").isdigit():
            ids.append(int(row[key]))
    return ids


def _remove_ipc_of(uid):
    """Remove the shared memory, message queues and semaphores the sandbox uid created (no namespace)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    ipc_rmid = 0
    for ident in _sysv_ids("shm", uid):
        libc.shmctl(ident, ipc_rmid, None)
    for ident in _sysv_ids("msg", uid):
        libc.msgctl(ident, ipc_rmid, None)
    for ident in _sysv_ids("sem", uid):
        libc.semctl(ident, 0, ipc_rmid)


def _remove_files_of(uid):
    """Remove what the sandbox uid left at the top of the world-writable folders (links not followed)."""
    for root in WRITABLE_ROOTS:
        try:
            entries = list(os.scandir(root))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
                if info.st_uid != uid:
                    continue
                if stat.S_ISDIR(info.st_mode):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                continue


def clean_output(data, limit=MAX_STUDENT_OUTPUT):
    """Student output for feedback: decoded, terminal escape sequences removed (one linear pass), cut.

    Parameters
    ----------
    data : bytes, what the student's code printed (already bounded by the reader)
    limit : int, characters kept

    Returns
    -------
    str
    """
    text = data.decode("utf-8", errors="replace")
    pieces, i, n = [], 0, len(text)
    while i < n:
        j = text.find("\x1b", i)
        if j < 0:
            pieces.append(text[i:])
            break
        pieces.append(text[i:j])
        k = j + 1
        if k < n and text[k] == "[":
            k += 1
            while k < n and (text[k] in "0123456789;"):
                k += 1
            if k < n and text[k].isalpha():
                k += 1
        i = k
    text = "".join(pieces)
    return text[:limit] + ("\n... (output truncated)" if len(text) > limit else "")


def parse_events(data):
    """The worker's events from its channel, read as untrusted bytes (bounded work per line).

    A line longer than ``MAX_EVENT_LINE`` or with more than ``MAX_EVENT_CONTAINERS`` JSON objects and
    arrays is skipped unparsed (the real worker never sends one); so is anything that is not an event.

    Returns
    -------
    list of dict
    """
    events = []
    for line in data.split(b"\n"):
        if not line or len(line) > MAX_EVENT_LINE:
            continue
        if line.count(b"{") + line.count(b"[") > MAX_EVENT_CONTAINERS:
            continue
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(event, dict) and event.get("event") in KNOWN_EVENTS:
            events.append(event)
    return events


def _namespace_init(pid):
    """PIDs of the children of ``pid`` (unshare's child is the PID namespace's init)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as handle:
            return [int(p) for p in handle.read().split()]
    except (OSError, ValueError):
        return []


def _kill_tree(process):
    """SIGKILL the PID namespace's init (every process of the namespace dies with it), then the worker's
    process group; leftovers that left the group are killed through the cgroup or the uid afterwards."""
    if isinstance(process, _ForkedWorker):  # its namespace's init dies with it (PR_SET_PDEATHSIG)
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except OSError:
                pass
        process.kill()
        return
    targets = [lambda p=p: os.kill(p, signal.SIGKILL) for p in _namespace_init(process.pid)]
    targets += [lambda: os.killpg(process.pid, signal.SIGKILL), process.kill]
    for target in targets:
        try:
            target()
        except (ProcessLookupError, PermissionError, OSError):
            pass


class _Reader:
    """Reads the worker's pipes without blocking; each keeps at most ``cap`` bytes (the rest is drained)."""

    def __init__(self, process, output_fd):
        self.selector = selectors.DefaultSelector()
        self.buffers, self.caps = {}, {}
        self.fds = {"events": process.stdout.fileno(), "stderr": process.stderr.fileno(), "output": output_fd}
        for fd, cap in ((self.fds["events"], MAX_EVENT_BYTES), (self.fds["stderr"], MAX_STDERR_BYTES),
                        (output_fd, MAX_STUDENT_OUTPUT * 4 + 4)):
            os.set_blocking(fd, False)
            self.selector.register(fd, selectors.EVENT_READ)
            self.buffers[fd], self.caps[fd] = bytearray(), cap
        self.open_reads = 3
        self.stdin = process.stdin
        self.stdin_fd = process.stdin.fileno()
        os.set_blocking(self.stdin_fd, False)
        self.selector.register(self.stdin_fd, selectors.EVENT_WRITE)
        self.to_send = memoryview(b"")

    def _write(self):
        try:
            written = os.write(self.stdin_fd, self.to_send[:65536])
            self.to_send = self.to_send[written:]
        except OSError:
            self.to_send = self.to_send[:0]
        if not self.to_send:
            self.selector.unregister(self.stdin_fd)
            self.stdin.close()

    def poll(self, timeout):
        """Move data once (writes the request, reads what is ready)."""
        for key, _ in self.selector.select(timeout=timeout):
            fd = key.fd
            if fd == self.stdin_fd:
                self._write()
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self.selector.unregister(fd)
                self.open_reads -= 1
                continue
            room = self.caps[fd] - len(self.buffers[fd])
            if room > 0:
                self.buffers[fd] += chunk[:room]


def _popen_start(command, env, write_out):
    """(process, forked=False): a new worker process; its student output goes to ``write_out``."""
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, start_new_session=True, close_fds=True,
                               pass_fds=(write_out,))
    return process, False


def _fork_start(server, env, namespaces, write_out, fallback, preload=((), ())):
    """(process, forked=True): a worker forked by the fork server (or ``fallback()`` if it fails)."""
    pipes = [os.pipe() for _ in range(3)]  # stdin, stdout, stderr
    child_ends = [pipes[0][0], pipes[1][1], pipes[2][1], write_out]
    try:
        spawned = server.spawn(env, namespaces, child_ends, preload)
    finally:
        for fd in child_ends[:3]:
            os.close(fd)
    if spawned is None:
        for fd in (pipes[0][1], pipes[1][0], pipes[2][0]):
            os.close(fd)
        return fallback()
    streams = (os.fdopen(pipes[0][1], "wb", buffering=0), os.fdopen(pipes[1][0], "rb", buffering=0),
               os.fdopen(pipes[2][0], "rb", buffering=0))
    return _ForkedWorker(*spawned, streams), True


def _communicate(start, payloads, wall_seconds, read_out, write_out):
    """Start the worker, feed it its payload, read its events, diagnostics and output (each bounded),
    enforce the deadline.

    Parameters
    ----------
    start : callable () -> (process, forked): starts the worker
    payloads : {forked: bytes}, the request as each kind of worker needs it
    wall_seconds : float
    read_out, write_out : the student-output pipe (``write_out`` is closed here once the worker holds it)

    Returns
    -------
    WorkerResult (protections and leftovers filled in by the caller)
    """
    start_time = time.monotonic()
    try:
        process, forked = start()
    except OSError as exc:
        return WorkerResult([], "no-start", None, 0.0, stderr=f"could not start the worker: {exc}")
    finally:
        os.close(write_out)  # only the worker holds the write end now: end of output = its exit
    start, payload = start_time, payloads[forked]
    reader = _Reader(process, read_out)
    reader.to_send = memoryview(payload)
    deadline, status, exited_at = start + wall_seconds, None, None
    while True:
        now = time.monotonic()
        if status is None and now > deadline:
            status, exited_at = "timeout", now
            _kill_tree(process)
        if exited_at is None and process.poll() is not None:
            exited_at = now
        if reader.open_reads == 0 or (exited_at is not None and now - exited_at > 1.0):
            break  # every pipe closed, or a leftover grandchild keeps one open: stop reading
        reader.poll(0.05)
    reader.selector.close()
    try:  # its pipes are closed: its exit status follows (a crash must read as a crash, not our kill)
        process.wait(timeout=2)
    except subprocess.TimeoutExpired:
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
    data = {name: bytes(reader.buffers[fd]) for name, fd in reader.fds.items()}
    events = parse_events(data["events"])
    stderr = data["stderr"].decode("utf-8", errors="replace")
    output = clean_output(data["output"])
    if status is None:
        status = "finished" if any(e.get("event") == "done" for e in events) else "crashed"
    return WorkerResult(events, status, process.returncode, time.monotonic() - start, student_output=output,
                        stderr=stderr, channel_full=len(data["events"]) >= MAX_EVENT_BYTES)
