"""The sandboxed worker: runs one exercise of one submission and streams plain-data results back.

This file is a standalone script (``python -I -B _worker.py``): it imports only the standard library,
numpy and ``course_utils``, never the rest of ``autograder`` (which it hides from student code).

Protocol
--------
stdin (read once, before any student code runs): one JSON request::

    {"cells": [{"label": str, "source": str, "graded": bool?}, ...],  # run in order in one namespace
     "function": str,                                       # the graded function's name
     "references": {global name: "module:attr"},            # set before the cells and before each case
     "forbidden": ["module:attr", ...],                     # library versions of this exercise
     "judge": {"exercise": str, "seed": int},               # course_utils.judges: the hidden cases
                                                            # (optional: without it the cells only run)
     "sandbox": {"workdir": str, "uid": int|null, "gid": int|null, "hide": [str], "expose": [str],
                 "writable_roots": [str], "limits": {...}}}

Before any student code runs, the worker builds ``judges.cases(exercise, "hidden", seed)``. The graded
cell (``"graded": true``) runs up to the last top-level statement that binds the graded function; the
statements after it (the cell's demo lines) run one by one, and their failures are reported as "demo"
events, never as the cell's error (they often need names made in other cells of the notebook). Then
``judges.collect`` calls the function on each case, with the instruments the judge hands it.

fd 1 (the event channel; student output never goes there): one JSON object per line::

    {"event": "ready", "protections": {...}}
    {"event": "cell", "label": str, "ok": bool, "error": {...}?}
    {"event": "demo", "label": str, "error": {...}, "context": bool}   # context: a name of the notebook missing
    {"event": "function", "ok": bool, "kind": str}
    {"event": "observation", "index": int, "ok": bool, "data": wire?,  # the judge's observation of case index
     "error": {...}?, "too_large": bool?, "used_library": [str]}
    {"event": "done"}

Everything sent back is plain data (JSON; arrays as base64 bytes, zlib-compressed when large). The
grader treats it as untrusted: student code runs in this process and could write anything to fd 1; the
grader decodes it with bounds, and ``judges.decide`` (in the grader) reaches the verdict from it with
values it computed itself.
"""

import ast
import base64
import builtins
import ctypes
import ctypes.util
import importlib
import json
import math
import os
import resource
import signal
import sys
import traceback
import types
import zlib

import numpy as np

MAX_ARRAY_ENTRIES = 100_000
MAX_TEXT = 2_000
#: An event line larger than this, or with more JSON objects and arrays, is replaced by a description
#: (the grader refuses such lines, so the real worker never sends one).
MAX_EVENT_LINE = 1_000_000
MAX_EVENT_CONTAINERS = 10_000

__all__ = ["main", "setup_sandbox", "enter_own_root", "encode", "split_cell"]

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 8, 32, 4096, 16384


# ---------------------------------------------------------------------------------------------------
# Wire format (what autograder.wire decodes, kept here so the worker needs nothing from the grader)
# ---------------------------------------------------------------------------------------------------

def _float_out(x):
    x = float(x)
    return x if math.isfinite(x) else {"__float__": repr(x)}


def encode(value, depth=0):
    """Plain-JSON form of a value returned by student code; unknown objects become a short description."""
    if depth > 20:
        return {"__object__": {"type": type(value).__name__, "repr": "(nested too deeply)"}}
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "iuf" and value.size <= MAX_ARRAY_ENTRIES:
            raw = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes()
            packed = zlib.compress(raw, 1) if len(raw) > 4096 else None  # a judge's points repeat a lot
            key, raw = ("zb64", packed) if packed is not None and len(packed) < len(raw) else ("b64", raw)
            return {"__ndarray__": {"dtype": value.dtype.name, "shape": list(value.shape),
                                    key: base64.b64encode(raw).decode("ascii")}}
        if value.dtype.kind == "b" and value.size <= MAX_ARRAY_ENTRIES:
            return {"__ndarray__": {"dtype": "bool", "shape": list(value.shape),
                                    "data": [bool(v) for v in value.reshape(-1).tolist()]}}
        return {"__object__": {"type": f"ndarray of dtype {value.dtype} and shape {value.shape}", "repr": ""}}
    if isinstance(value, np.generic):
        if value.dtype.kind in "biuf":
            inner = value.item()
            return {"__npscalar__": {"dtype": str(value.dtype),
                                     "value": _float_out(inner) if value.dtype.kind == "f" else inner}}
    if isinstance(value, int) and type(value) is int:
        return value if abs(value) < 2 ** 63 else {"__float__": repr(float(value))}
    if isinstance(value, float) and type(value) is float:
        return _float_out(value) if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, str) and type(value) is str:
        return {"__str__": value[:MAX_TEXT], "length": len(value)}
    if type(value) in (list, tuple):
        items = [encode(v, depth + 1) for v in value[:10_000]]
        return {"__list__" if type(value) is list else "__tuple__": items}
    if type(value) is dict:
        return {"__dict__": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in list(value.items())[:10_000]]}
    try:
        text = repr(value)[:MAX_TEXT]
    except BaseException:  # a student object whose __repr__ fails
        text = "(repr failed)"
    return {"__object__": {"type": type(value).__name__, "repr": text}}


# ---------------------------------------------------------------------------------------------------
# Sandbox setup (runs as root, inside fresh namespaces when the grader could create them)
# ---------------------------------------------------------------------------------------------------

#: System directories shown read-only in the sandbox's own root (symlinks such as /bin -> usr/bin kept).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DEVICES = ("null", "zero", "full", "random", "urandom")
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "armv7l": 218, "ppc64le": 203, "s390x": 217}
PR_SET_NO_NEW_PRIVS, MNT_DETACH = 38, 2


def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(rc, what):
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _libc_mount():
    libc = _libc()

    def mount(source, target, fstype, flags, data=None):
        rc = libc.mount(source.encode() if source else None, target.encode(),
                        fstype.encode() if fstype else None, ctypes.c_ulong(flags),
                        data.encode() if data else None)
        _check(rc, f"mount {target}")
    return mount


def _bind_readonly(mount, source, target):
    mount(source, target, None, MS_BIND | MS_REC)
    mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _expose(mount, new_root, path, shown):
    """Show ``path`` read-only at the same place inside ``new_root`` (once; a top-level symlink stays one)."""
    if os.path.islink(path) and os.path.dirname(path) == "/":
        if not os.path.lexists(new_root + path):
            os.symlink(os.readlink(path), new_root + path)
        return
    real = os.path.realpath(path)
    if not os.path.isdir(real) or any((real + "/").startswith(s + "/") for s in shown):
        return
    os.makedirs(new_root + real, exist_ok=True)
    _bind_readonly(mount, real, new_root + real)
    shown.append(real)
    if real != path and not os.path.lexists(new_root + path):
        os.makedirs(os.path.dirname(new_root + path), exist_ok=True)
        os.symlink(real, new_root + path)


def _make_dev(mount, new_root):
    """A /dev holding only null, zero, full, random, urandom (bound from the real ones) and fd links."""
    dev = new_root + "/dev"
    os.makedirs(dev, exist_ok=True)
    mount("none", dev, "tmpfs", MS_NOSUID, "size=64k,mode=755")
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            open(f"{dev}/{name}", "w").close()
            mount(f"/dev/{name}", f"{dev}/{name}", None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{dev}/{name}")
    mount(None, dev, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID, "size=64k,mode=755")


def _pivot(new_root):
    """Make ``new_root`` the root of this mount namespace and detach the old root entirely."""
    libc = _libc()
    os.chdir(new_root)
    number = PIVOT_ROOT.get(os.uname().machine)
    if number is None:  # unknown architecture: chroot (the student runs unprivileged, so it holds)
        os.chroot(".")
    else:
        _check(libc.syscall(number, b".", b"."), "pivot_root")
        _check(libc.umount2(b".", MNT_DETACH), "umount old root")
    os.chdir("/")


def enter_own_root(config):
    """Build a root holding only system directories, the Python environment, the course library and a
    fixed-size empty work directory; switch to it (needs root in a new mount namespace)."""
    mount = _libc_mount()
    new_root = config["new_root"]
    mount("none", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=755")
    shown = []
    for path in sorted(set(SYSTEM_DIRS) | set(config.get("expose", [])), key=len):
        _expose(mount, new_root, path, shown)
    _make_dev(mount, new_root)
    os.makedirs(new_root + "/proc", exist_ok=True)
    try:
        mount("proc", new_root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError:
        pass  # no /proc: Python runs without it
    work = new_root + config["workdir"]
    os.makedirs(work, exist_ok=True)
    disk = int(config.get("limits", {}).get("disk_mb") or 64)
    uid, gid = config.get("uid") or 0, config.get("gid") or 0
    mount("none", work, "tmpfs", MS_NOSUID | MS_NODEV, f"size={disk}m,mode=700,uid={uid},gid={gid}")
    mount(None, new_root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4m,mode=755")
    _pivot(new_root)


def _join_cgroup(procs_files):
    """Move this process (and so everything it starts) into the submission's control group."""
    for path in procs_files:
        with open(path, "w", encoding="ascii") as handle:
            handle.write("0")


def _no_new_privileges():
    """PR_SET_NO_NEW_PRIVS: set-uid programs run by student code do not gain privileges."""
    _check(_libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


def _set_limits(limits, protections):
    mb = 1024 * 1024
    for name, res, value in [("cpu_seconds", resource.RLIMIT_CPU, limits.get("cpu_seconds")),
                             ("memory_mb", resource.RLIMIT_AS, limits.get("memory_mb") and limits["memory_mb"] * mb),
                             ("processes", resource.RLIMIT_NPROC, limits.get("processes")),
                             ("file_mb", resource.RLIMIT_FSIZE, limits.get("file_mb") and limits["file_mb"] * mb),
                             ("open_files", resource.RLIMIT_NOFILE, limits.get("open_files")),
                             ("core", resource.RLIMIT_CORE, 0)]:
        if value is None:
            continue
        try:
            hard = value + 1 if name == "cpu_seconds" else value
            resource.setrlimit(res, (value, hard))
            if name != "core":
                protections[name] = value
        except (ValueError, OSError) as exc:
            protections[name] = f"failed: {exc}"


def setup_sandbox(config):
    """Apply every protection the grader asked for; return a dict naming what was applied.

    Isolation the grader asked for and that cannot be built raises (the worker then stops before any
    student code runs, and the grader reports an error on its side): it never silently runs unprotected.
    """
    protections = {}
    as_root = os.geteuid() == 0
    if config.get("cgroup_procs"):
        _join_cgroup(config["cgroup_procs"])
        protections["cgroup"] = True
    if config.get("namespaces") and as_root:
        enter_own_root(config)
        protections["own_root"] = True
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a huge output raises OSError instead of killing us
    _set_limits(config.get("limits", {}), protections)
    os.chdir(config["workdir"])
    _no_new_privileges()
    protections["no_new_privileges"] = True
    if config.get("uid") is not None and as_root:
        os.setgroups([])
        os.setgid(config["gid"])
        os.setuid(config["uid"])
        protections["uid"] = os.getuid()
    protections["network_isolated"] = bool(config.get("namespaces"))
    return protections


# ---------------------------------------------------------------------------------------------------
# Running student code
# ---------------------------------------------------------------------------------------------------

def _resolve(dotted):
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)


def _error(exc, tb=None):
    """Plain description of an exception raised by student code: type, message, cell line."""
    line = None
    label = None
    for frame, lineno in traceback.walk_tb(tb or exc.__traceback__):
        name = frame.f_code.co_filename
        if name.startswith("<cell "):
            line, label = lineno, name[6:-1]
    if isinstance(exc, SyntaxError) and exc.filename and exc.filename.startswith("<cell "):
        line, label = exc.lineno, exc.filename[6:-1]
    try:
        message = str(exc)[:MAX_TEXT]
    except BaseException:
        message = "(message unavailable)"
    if isinstance(exc, SystemExit):
        message = f"exit code {exc.code!r}"[:MAX_TEXT]
    return {"type": type(exc).__name__, "message": message, "line": line, "cell": label}


class _Tracker:
    """Wraps the library's own implementations of the exercise and records when they are called.

    A module already imported is wrapped at once; any other is wrapped the moment it is first imported
    (an import hook), so the worker does not pay for importing library modules the submission never uses.
    """

    def __init__(self, forbidden):
        self.used = set()
        self.active = False
        self.pending = {}
        for dotted in forbidden:
            module, _, attr = dotted.partition(":")
            self.pending.setdefault(module, []).append((dotted, attr))
        for module in [m for m in self.pending if m in sys.modules]:
            self.patch(sys.modules[module])
        if self.pending:
            sys.meta_path.insert(0, _PatchOnImport(self))

    def patch(self, mod):
        """Wrap the forbidden functions of module ``mod`` (once)."""
        for dotted, attr in self.pending.pop(mod.__name__, []):
            original = getattr(mod, attr, None)
            if original is not None:
                setattr(mod, attr, self._wrap(dotted, original))

    def _wrap(self, dotted, original):
        tracker = self

        def wrapper(*args, **kwargs):
            if tracker.active:
                tracker.used.add(dotted)
            return original(*args, **kwargs)
        wrapper.__name__ = getattr(original, "__name__", "wrapper")
        wrapper.__doc__ = getattr(original, "__doc__", None)
        return wrapper


class _PatchingLoader:
    """Loader proxy: runs the real loader, then lets the tracker wrap the module's functions."""

    def __init__(self, loader, tracker):
        self.loader, self.tracker = loader, tracker

    def create_module(self, spec):
        """Delegate to the real loader."""
        return self.loader.create_module(spec)

    def exec_module(self, module):
        """Execute the module with the real loader, then wrap its forbidden functions."""
        self.loader.exec_module(module)
        self.tracker.patch(module)

    def __getattr__(self, name):
        return getattr(self.loader, name)


class _PatchOnImport:
    """Meta path finder that hands the tracker every module it still waits for, as it is imported."""

    def __init__(self, tracker):
        self.tracker = tracker

    def find_spec(self, name, path=None, target=None):
        """The real finders' spec for a tracked module, with a patching loader; None otherwise."""
        if name not in self.tracker.pending:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader, self.tracker)
                return spec
        return None


class _CappedOutput:
    """sys.stdout for student code: keeps the first ``limit`` characters, silently drops the rest."""

    def __init__(self, fd, limit):
        self._fd, self._left, self._told = fd, limit, False
        self.encoding, self.errors = "utf-8", "replace"

    def write(self, text):
        text = str(text)
        if self._left > 0:
            part = text[: self._left]
            self._left -= len(part)
            try:
                os.write(self._fd, part.encode("utf-8", errors="replace"))
            except OSError:
                self._left = 0
        elif not self._told:
            self._told = True
            try:
                os.write(self._fd, b"\n... (further output dropped)\n")
            except OSError:
                pass
        return len(text)

    def flush(self):
        return None

    def isatty(self):
        return False

    def fileno(self):
        return self._fd


def _event_sender(fd):
    """send(**event): one JSON line on the event channel (bounded: an oversized observation is replaced
    by a note saying so, which the grader scores 0)."""
    events = os.fdopen(fd, "w", buffering=1, encoding="utf-8")
    dumps = json.dumps

    def send(**event):
        try:
            line = dumps(event)
            if len(line) > MAX_EVENT_LINE or line.count("{") + line.count("[") > MAX_EVENT_CONTAINERS:
                event = {k: v for k, v in event.items() if k in ("event", "index", "label", "used_library")}
                line = dumps(dict(event, ok=False, too_large=True))
            events.write(line + "\n")
            events.flush()
        except (OSError, ValueError, RecursionError):
            pass
    return send


def _prepare_judge(request):
    """(judges module, exercise, cases) of the request's judge, built before any student code runs; None
    without a judge (the cells only run)."""
    spec = request.get("judge")
    if spec is None:
        return None
    from course_utils import judges  # noqa: PLC0415 (the fork server has usually imported it already)
    exercise = str(spec["exercise"])
    return judges, exercise, judges.cases(exercise, "hidden", int(spec["seed"]))


def _redirect_output(config):
    """Student output goes to the grader's output pipe (never a file in the work folder); stdin is empty."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    out = int(config["output_fd"])
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout = _CappedOutput(1, config.get("limits", {}).get("output_chars", 100_000))
    sys.stderr = sys.stdout


def main():
    """Read the request, build the hidden cases, sandbox this process, run the cells and the judge's
    calls, stream events."""
    request = json.loads(sys.stdin.buffer.read())
    send = _event_sender(os.dup(1))
    config = request["sandbox"]
    references = {name: _resolve(dotted) for name, dotted in request.get("references", {}).items()}
    judge = _prepare_judge(request)
    tracker = _Tracker(request.get("forbidden", []))
    devnull_ready = os.open(os.devnull, os.O_RDONLY)  # opened while /dev is the real one
    protections = setup_sandbox(config)
    os.dup2(devnull_ready, 0)
    os.close(devnull_ready)
    _redirect_output(config)
    send(event="ready", protections=protections)
    _run_student_code(request, references, judge, tracker, send)
    send(event="done")
    os._exit(0)


def _binds(statement, name):
    """True when a top-level statement (re)binds ``name``: a def or class, an assignment, an import."""
    for node in ast.walk(statement):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
            return True
        if isinstance(node, ast.alias) and (node.asname or node.name.split(".")[0]) == name:
            return True
    return False


def split_cell(source, filename, function):
    """(code up to the last statement that binds ``function``, [code of each later statement]).

    The later statements are the cell's demo lines (``difference = gradient_check_n(parameters, ...)``),
    run one by one after the definition. A cell that does not parse, or that never binds the name, is
    one piece (compiled as a whole, so its SyntaxError is reported as before).
    """
    try:
        tree = compile(source, filename, "exec", ast.PyCF_ONLY_AST)
        last = max((i for i, s in enumerate(tree.body) if _binds(s, function)), default=None)
    except BaseException:  # a syntax error, or a parser limit: compiled whole below (and reported)
        last = None
    if last is None or last == len(tree.body) - 1:
        return compile(source, filename, "exec"), []
    head = ast.Module(body=tree.body[:last + 1], type_ignores=[])
    tail = [compile(ast.Module(body=[s], type_ignores=[]), filename, "exec") for s in tree.body[last + 1:]]
    return compile(head, filename, "exec"), tail


def _only_a_missing_name(exc, filename):
    """A NameError raised by the cell's own top-level line (not inside a function): a name of the notebook
    that the grader does not run (``parameters``, ``mystery_report``)."""
    if not isinstance(exc, NameError) or isinstance(exc, UnboundLocalError):
        return False
    frames = list(traceback.walk_tb(exc.__traceback__))
    return bool(frames) and frames[-1][0].f_code.co_filename == filename and \
        frames[-1][0].f_code.co_name == "<module>"


def _watched(function, tracker, errors):
    """(callable, whole): ``function`` wrapped so that the tracker is on during its calls only and its first
    exception is described (with the cell line) in ``errors``; the wrapper keeps the function's globals
    and signature (the judge's instruments go into those globals). ``whole`` is True when ``function`` is
    not a plain function: it is returned as is and the tracker stays on for the whole collection."""
    if type(function) is not types.FunctionType:
        return function, True
    base, describe = BaseException, _error

    def watched(*args, **kwargs):
        tracker.active = True
        try:
            return function(*args, **kwargs)
        except base as exc:
            if not errors:
                try:
                    errors.append(describe(exc))
                except base:  # builtins patched by the student's call: no description
                    errors.append({"type": "Error", "message": "", "line": None, "cell": None})
            raise
        finally:
            tracker.active = False
    wrapper = types.FunctionType(watched.__code__, function.__globals__, function.__name__, None,
                                 watched.__closure__)
    wrapper.__wrapped__ = function  # inspect.signature reads the student's parameters through it
    return wrapper, False


def _run_student_code(request, references, judge, tracker, send):
    """Run the cells in one namespace, then the judge's collection on each case; send their events."""
    pristine = dict(builtins.__dict__)

    def restore_builtins():
        # Student code may patch builtins (isinstance, len, ...); the worker's own code needs the originals.
        builtins.__dict__.update(pristine)
        for name in [k for k in builtins.__dict__ if k not in pristine]:
            del builtins.__dict__[name]

    namespace = {"__name__": "__main__", "__builtins__": builtins, "display": print}
    namespace.update(references)  # the other exercises' functions, for demo code in the student's cell
    for cell in request["cells"]:
        filename = f"<cell {cell['label']}>"
        try:
            if cell.get("graded"):
                code, demo = split_cell(cell["source"], filename, request["function"])
            else:
                code, demo = compile(cell["source"], filename, "exec"), []
            exec(code, namespace)
            restore_builtins()
            send(event="cell", label=cell["label"], ok=True)
        except BaseException as exc:  # SyntaxError, SystemExit, anything the student's cell raises
            restore_builtins()
            send(event="cell", label=cell["label"], ok=False, error=_error(exc))
            continue
        for statement in demo:  # each demo line on its own: one that needs another cell's name stops no other
            try:
                exec(statement, namespace)
                restore_builtins()
            except BaseException as exc:
                restore_builtins()
                send(event="demo", label=cell["label"], error=_error(exc),
                     context=_only_a_missing_name(exc, filename))
    function = namespace.get(request["function"])
    if not callable(function):
        send(event="function", ok=False, kind=type(function).__name__ if function is not None else "missing")
        return
    send(event="function", ok=True, kind=type(function).__name__)
    if judge is None:
        return
    judges, exercise, cases = judge
    for index, case in enumerate(cases):
        namespace.update(references)
        errors = []
        watched, whole = _watched(function, tracker, errors)
        tracker.used = set()
        tracker.active = whole
        try:
            observation = judges.collect(exercise, watched, [case])[0]
            restore_builtins()
            tracker.active = False
            event = {"event": "observation", "index": index, "ok": True, "data": encode(observation)}
            if errors:
                event["error"] = errors[0]
        except BaseException as exc:  # e.g. KeyboardInterrupt raised by the student's code
            restore_builtins()
            tracker.active = False
            event = {"event": "observation", "index": index, "ok": False, "error": _error(exc)}
        event["used_library"] = sorted(tracker.used)
        try:
            send(**event)
        except BaseException as exc:
            send(event="observation", index=index, ok=False, error=_error(exc), used_library=sorted(tracker.used))


# ---------------------------------------------------------------------------------------------------
# Fork server: the imports are paid once per grader, each run is a fork (``--zygote MODULES FD``)
# ---------------------------------------------------------------------------------------------------

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x08000000, 0x20000000, 0x40000000
MS_PRIVATE, PR_SET_PDEATHSIG = 1 << 18, 1


def _exit_like(status):
    """End this process the way the waited-for child ended (same exit code, or the same signal)."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) if not os.WIFSIGNALED(status) else 1)


def _run_main():
    try:
        main()
    except BaseException:  # the worker's own failure: its traceback goes to the grader's stderr pipe
        traceback.print_exc()
        os._exit(1)
    os._exit(0)


def _fresh_randomness():
    import random  # local: only forked runs need it
    random.seed()
    np.random.seed()


def _zygote_child(request, fds):
    """In the forked child: take the run's pipes, enter new namespaces (then fork again: the grandchild is
    the namespace's init and dies with this process), and run the worker."""
    reply, stdin_r, stdout_w, stderr_w, output_w = fds
    os.setsid()
    for fd, target in ((stdin_r, 0), (stdout_w, 1), (stderr_w, 2), (output_w, 3)):
        os.dup2(fd, target)
    os.closerange(4, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    os.environ.clear()
    os.environ.update(request["env"])
    _fresh_randomness()
    if not request.get("namespaces"):
        _run_main()
    libc = _libc()
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWPID), "unshare")
    pid = os.fork()  # (a mount call before this first fork makes it fail with ENOMEM)
    if pid == 0:
        _check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
        _libc_mount()(None, "/", None, MS_REC | MS_PRIVATE)  # nothing mounted here reaches the host
        _run_main()
    for fd in (0, 1, 2, 3):
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    _exit_like(status)


def _zygote_serve(sock):
    """Serve fork requests on ``sock`` until the grader closes it; report each child's wait status."""
    import selectors  # local: only the fork server needs them
    import socket
    children = {}
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    while True:
        for pid in list(children):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                reply = children.pop(pid)
                try:
                    reply.send(json.dumps({"status": status}).encode())
                except OSError:
                    pass
                reply.close()
        if not selector.select(timeout=0.01):
            continue
        message, fds, _, _ = socket.recv_fds(sock, 65536, 5)
        if not message:
            return
        if len(fds) != 5:
            for fd in fds:
                os.close(fd)
            continue
        request = json.loads(message)
        _preload(request.get("preload", []))  # trusted names (the grader's references, the masters' setup)
        _warm(request.get("warm", []))  # the grader's exercise names
        pid = os.fork()
        if pid == 0:
            sock.close()
            _zygote_child(request, fds)
        reply = socket.socket(fileno=fds[0])
        for fd in fds[1:]:
            os.close(fd)
        pidfd = os.pidfd_open(pid)  # the grader kills through it: never a reused pid
        try:
            socket.send_fds(reply, [json.dumps({"pid": pid}).encode()], [pidfd])
        except OSError:
            pass
        os.close(pidfd)
        children[pid] = reply


def _preload(names):
    """Import each module of ``names`` not imported yet (a failure only means it is not preloaded)."""
    for name in names:
        if isinstance(name, str) and name and name not in sys.modules:
            try:
                importlib.import_module(name)
            except BaseException:  # imported (or failing) again in the child, as without a fork server
                pass


_WARMED = set()


def _warm(exercises):
    """Run each judge once on its public cases with a function that returns None, so that what the
    judge memoises (e.g. the checker's reports of notebook 03) is inherited by every forked worker."""
    for exercise in exercises:
        if not isinstance(exercise, str) or exercise in _WARMED:
            continue
        _WARMED.add(exercise)
        try:
            from course_utils import judges  # noqa: PLC0415 (only the fork server warms)
            nothing = eval("lambda *args, **kwargs: None", {"__builtins__": builtins})  # its own globals
            judges.collect(exercise, nothing, judges.cases(exercise, "public"))
        except BaseException:  # warming is an optimisation only
            pass


def zygote(modules, fd):
    """Import ``modules`` (comma-separated), then serve fork requests on socket ``fd``."""
    import socket  # local: only the fork server needs it
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _preload(modules.split(","))
    _zygote_serve(socket.socket(fileno=int(fd)))
    os._exit(0)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--zygote":
        zygote(sys.argv[2], sys.argv[3])
    main()
