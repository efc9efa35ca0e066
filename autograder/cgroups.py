"""Per-submission memory and process limits with Linux control groups (v2, or v1 ``memory`` + ``pids``).

A ``Group`` is created by the grader (root) before a worker starts; the worker moves itself into it
(writes ``0`` to each ``cgroup.procs`` file) before any student code runs, so every process the student
starts is counted together: the memory limit and the process limit hold for the whole submission, not
per process, and ``kill()`` reaches every process however it detached itself (new session, new process
group, double fork). Nothing here is available without root or when the cgroup filesystem is read-only
(a default Docker container); ``create_group`` then returns None and the sandbox falls back to rlimits.
"""

import itertools
import os
import signal
import threading
import time

__all__ = ["Group", "create_group", "cgroup_support", "kill_until_gone"]

_COUNTER = itertools.count()
_LOCK = threading.Lock()
_SUPPORT = {}


def kill_until_gone(list_pids, deadline):
    """SIGKILL every process ``list_pids()`` returns, polling until it returns none or ``deadline`` passes.

    Parameters
    ----------
    list_pids : callable () -> list of int (a group's members, a uid's processes, ...)
    deadline : float, a ``time.monotonic()`` value

    Returns
    -------
    list of int, the processes still present at the deadline (empty when all are gone)
    """
    delay = 0.001
    while True:
        pids = list_pids()
        if not pids or time.monotonic() > deadline:
            return pids
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(delay)  # polling a condition (nothing left to kill), not a fixed wait
        delay = min(delay * 2, 0.05)


def _mounts():
    """{"v2": mountpoint or None, "memory": mountpoint, "pids": mountpoint} from /proc/self/mountinfo."""
    found = {"v2": None}
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as handle:
            lines = handle.read(1 << 20).splitlines()
    except OSError:
        return found
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        if tail[0] == "cgroup2" and found["v2"] is None:
            found["v2"] = fields[4]
        elif tail[0] == "cgroup":
            for option in tail[2].split(","):
                if option in ("memory", "pids"):
                    found.setdefault(option, fields[4])
    return found


def _own_paths():
    """{controller or "": path} of this process's cgroups, from /proc/self/cgroup."""
    paths = {}
    try:
        with open("/proc/self/cgroup", encoding="utf-8", errors="replace") as handle:
            lines = handle.read(1 << 16).splitlines()
    except OSError:
        return paths
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                paths[controller] = parts[2]
    return paths


def _write(path, text):
    with open(path, "w", encoding="ascii") as handle:
        handle.write(text)


def _try_dirs(parents, name):
    """Create ``name`` under each parent; return the created directories (all or none)."""
    made = []
    try:
        for parent in parents:
            path = os.path.join(parent, name)
            os.mkdir(path, 0o755)
            made.append(path)
    except OSError:
        for path in made:
            _rmdir(path)
        return None
    return made


def _rmdir(path):
    try:
        os.rmdir(path)
    except OSError:
        pass


class Group:
    """One control group (v2) or a pair (v1 memory + pids) holding the processes of one worker.

    Parameters
    ----------
    dirs : list of str, the cgroup directories
    version : int, 1 or 2
    """

    def __init__(self, dirs, version):
        self.dirs, self.version = dirs, version

    @property
    def procs_files(self):
        """list of str: the ``cgroup.procs`` files the worker writes ``0`` to (joins the group)."""
        return [os.path.join(d, "cgroup.procs") for d in self.dirs]

    def pids(self):
        """list of int: processes in the group now."""
        found = set()
        for path in self.procs_files:
            try:
                with open(path, encoding="ascii") as handle:
                    found.update(int(p) for p in handle.read().split())
            except (OSError, ValueError):
                continue
        return sorted(found)

    def kill(self, patience=15.0):
        """SIGKILL every process of the group until none is left (bounded by ``patience`` seconds).

        Returns
        -------
        list of int, processes still present when patience ran out (normally empty)
        """
        if self.version == 2:
            try:
                _write(os.path.join(self.dirs[0], "cgroup.kill"), "1")
            except OSError:
                pass
        return kill_until_gone(self.pids, time.monotonic() + patience)

    def memory_peak(self):
        """int or None: the most memory the group used, in bytes (when the kernel reports it)."""
        for name in ("memory.peak", "memory.max_usage_in_bytes"):
            for d in self.dirs:
                try:
                    with open(os.path.join(d, name), encoding="ascii") as handle:
                        return int(handle.read().strip())
                except (OSError, ValueError):
                    continue
        return None

    def remove(self):
        """Kill what is left and delete the group's directories."""
        self.kill()
        for d in self.dirs:
            _rmdir(d)


def _create_v2(memory_bytes, processes):
    mount = _mounts().get("v2")
    if not mount:
        return None
    parent = os.path.join(mount, _own_paths().get("", "/").lstrip("/"))
    name = f"autograder-{os.getpid()}-{next(_COUNTER)}"
    made = _try_dirs([parent], name)
    if not made:
        return None
    try:
        with open(os.path.join(made[0], "cgroup.controllers"), encoding="ascii") as handle:
            controllers = handle.read().split()
        if "memory" not in controllers or "pids" not in controllers:
            raise OSError("memory and pids controllers are not delegated here")
        _write(os.path.join(made[0], "memory.max"), str(memory_bytes))
        _write(os.path.join(made[0], "pids.max"), str(processes))
        try:
            _write(os.path.join(made[0], "memory.swap.max"), "0")
        except OSError:
            pass
    except OSError:
        _rmdir(made[0])
        return None
    return Group(made, 2)


def _create_v1(memory_bytes, processes):
    mounts, own = _mounts(), _own_paths()
    if "memory" not in mounts or "pids" not in mounts:
        return None
    parents = [os.path.join(mounts[c], own.get(c, "/").lstrip("/")) for c in ("memory", "pids")]
    made = _try_dirs(parents, f"autograder-{os.getpid()}-{next(_COUNTER)}")
    if not made:
        return None
    try:
        _write(os.path.join(made[0], "memory.limit_in_bytes"), str(memory_bytes))
        memsw = os.path.join(made[0], "memory.memsw.limit_in_bytes")
        if os.path.exists(memsw):
            try:
                _write(memsw, str(memory_bytes))
            except OSError:
                pass
        _write(os.path.join(made[1], "pids.max"), str(processes))
    except OSError:
        for d in made:
            _rmdir(d)
        return None
    return Group(made, 1)


def create_group(memory_mb, processes):
    """A new control group limited to ``memory_mb`` MB and ``processes`` processes, or None.

    Parameters
    ----------
    memory_mb : int, memory for all processes of the group together
    processes : int, processes (and threads) of the group together

    Returns
    -------
    Group or None (not root, no writable cgroup filesystem, or controllers not delegated)
    """
    if os.geteuid() != 0 or os.environ.get("AUTOGRADER_CGROUPS", "1") == "0":
        return None
    memory_bytes = int(memory_mb) * 1024 * 1024
    with _LOCK:
        known = _SUPPORT.get("kind", "unknown")
        if known is None:
            return None
        for kind in (["v2", "v1"] if known == "unknown" else [known]):
            group = (_create_v2 if kind == "v2" else _create_v1)(memory_bytes, int(processes))
            if group is not None:
                _SUPPORT["kind"] = kind
                return group
        _SUPPORT["kind"] = None
    return None


def cgroup_support():
    """str or None: "v2" or "v1" when per-submission groups can be created here."""
    group = create_group(64, 8)
    if group is None:
        return None
    group.remove()
    return f"v{group.version}"
