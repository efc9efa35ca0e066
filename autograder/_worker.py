"""The sandboxed worker: runs one exercise of one submission and streams plain-data results back.

This file is a standalone script (``python -I -B _worker.py``): it imports only the standard library,
numpy and ``course_utils``, never the rest of ``autograder`` (which it hides from student code).

Protocol
--------
stdin (read once, before any student code runs): one JSON request::

    {"cells": [{"label": str, "source": str}, ...],        # run in order in one namespace
     "function": str,                                       # the graded function's name
     "references": {global name: "module:attr"},            # set after the cells ran
     "forbidden": ["module:attr", ...],                     # library versions of this exercise
     "calls": [{"args": [wire], "kwargs": {name: wire},
                "globals": {name: {"ref": "module:attr", "scale": float}},
                "return_args": bool}, ...],
     "sandbox": {"workdir": str, "uid": int|null, "gid": int|null, "hide": [str], "expose": [str],
                 "writable_roots": [str], "limits": {...}}}

fd 1 (the event channel; student output never goes there): one JSON object per line::

    {"event": "ready", "protections": {...}}
    {"event": "cell", "label": str, "ok": bool, "error": {...}?}
    {"event": "function", "ok": bool, "kind": str}
    {"event": "call", "index": int, "ok": bool, "value": wire?, "args_after": [wire]?,
     "error": {...}?, "used_library": [str]}
    {"event": "done"}

Everything sent back is plain data (JSON, arrays as nested lists). The grader treats it as untrusted:
student code runs in this process and could write anything to fd 1; the grader only ever compares
what it reads with values it computed itself.
"""

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

import numpy as np

MAX_ARRAY_ENTRIES = 1_000_000
MAX_TEXT = 2_000

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 32, 4096, 16384


# ---------------------------------------------------------------------------------------------------
# Wire format (mirrors autograder.wire, kept here so the worker needs nothing from the grader)
# ---------------------------------------------------------------------------------------------------

def _float_out(x):
    x = float(x)
    return x if math.isfinite(x) else {"__float__": repr(x)}


def _float_in(v):
    return float(v["__float__"]) if isinstance(v, dict) else float(v)


def encode(value, depth=0):
    """Plain-JSON form of a value returned by student code; unknown objects become a short description."""
    if depth > 20:
        return {"__object__": {"type": type(value).__name__, "repr": "(nested too deeply)"}}
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf" and value.size <= MAX_ARRAY_ENTRIES:
            flat = [_float_out(v) if value.dtype.kind == "f" else (bool(v) if value.dtype.kind == "b" else int(v))
                    for v in value.reshape(-1).tolist()]
            return {"__ndarray__": {"dtype": str(value.dtype), "shape": list(value.shape), "data": flat}}
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


def decode(obj):
    """Value from the grader's wire form (the grader only sends numbers, strings, arrays, dicts, lists)."""
    if isinstance(obj, list):
        raise ValueError("bare lists are not part of the wire format")
    if not isinstance(obj, dict):
        return obj
    if "__float__" in obj:
        return _float_in(obj)
    if "__ndarray__" in obj:
        spec = obj["__ndarray__"]
        data = [_float_in(v) if isinstance(v, dict) else v for v in spec["data"]]
        return np.array(data, dtype=spec["dtype"]).reshape(spec["shape"])
    if "__npscalar__" in obj:
        spec = obj["__npscalar__"]
        return np.dtype(spec["dtype"]).type(_float_in(spec["value"]) if isinstance(spec["value"], dict)
                                            else spec["value"])
    if "__str__" in obj:
        return obj["__str__"]
    if "__list__" in obj:
        return [decode(v) for v in obj["__list__"]]
    if "__tuple__" in obj:
        return tuple(decode(v) for v in obj["__tuple__"])
    if "__dict__" in obj:
        return {decode(k): decode(v) for k, v in obj["__dict__"]}
    if "__ref__" in obj:  # a library object, e.g. numpy:float64
        return _resolve(obj["__ref__"])
    if "__call__" in obj:  # an input built by the library, before any student code runs
        spec = obj["__call__"]
        return _resolve(spec["ref"])(*[decode(a) for a in spec.get("args", [])],
                                     **{k: decode(v) for k, v in spec.get("kwargs", {}).items()})
    raise ValueError(f"unknown wire object {sorted(obj)}")


# ---------------------------------------------------------------------------------------------------
# Sandbox setup (runs as root inside fresh namespaces when the grader could create them)
# ---------------------------------------------------------------------------------------------------

def _libc_mount():
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

    def mount(source, target, fstype, flags, data=None):
        rc = libc.mount(source.encode() if source else None, target.encode(),
                        fstype.encode() if fstype else None, ctypes.c_ulong(flags),
                        data.encode() if data else None)
        if rc != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"mount {target}: {os.strerror(err)}")
    return mount


def _bind_readonly(mount, source, target):
    mount(source, target, None, MS_BIND | MS_REC)
    mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _hide_paths(mount, hide, expose):
    """Cover each directory of ``hide`` with an empty read-only tmpfs, keeping ``expose`` visible (read-only)."""
    for root in hide:
        if not os.path.isdir(root):
            if os.path.isfile(root):
                mount("/dev/null", root, None, MS_BIND)
            continue
        keep = [p for p in expose if p.startswith(root.rstrip("/") + "/") and os.path.exists(p)]
        fds = [(p, os.open(p, os.O_PATH)) for p in keep]
        mount("none", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
        for path, fd in fds:
            rel = os.path.relpath(path, root)
            target = os.path.join(root, rel)
            os.makedirs(target, exist_ok=True)
            _bind_readonly(mount, f"/proc/self/fd/{fd}", target)
            os.close(fd)
        mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=1m,mode=755")


def _readonly_except_workdir(mount, writable_roots, workdir):
    """World-writable places become read-only; the work directory stays writable."""
    for root in writable_roots:
        if os.path.isdir(root) and not os.path.islink(root):
            _bind_readonly(mount, root, root)
    mount(workdir, workdir, None, MS_BIND)
    mount(None, workdir, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)


def setup_sandbox(config):
    """Apply every protection the OS allows; return a dict naming what was applied (and what failed)."""
    protections = {}
    limits = config.get("limits", {})
    workdir = config["workdir"]
    if config.get("uid") is not None and os.geteuid() == 0:
        try:
            mount = _libc_mount()
            _hide_paths(mount, config.get("hide", []), config.get("expose", []))
            protections["grader_files_hidden"] = True
        except OSError as exc:
            protections["grader_files_hidden"] = f"failed: {exc}"
        try:
            _readonly_except_workdir(mount, config.get("writable_roots", []), workdir)
            protections["readonly_outside_workdir"] = True
        except (OSError, UnboundLocalError) as exc:
            protections["readonly_outside_workdir"] = f"failed: {exc}"
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a huge output raises OSError instead of killing us
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
    os.chdir(workdir)
    if config.get("uid") is not None and os.geteuid() == 0:
        os.setgroups([])
        os.setgid(config["gid"])
        os.setuid(config["uid"])
        protections["uid"] = os.getuid()
    protections["network_isolated"] = bool(config.get("network_isolated"))
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
    """Wraps the library's own implementations of the exercise and records when they are called."""

    def __init__(self, forbidden):
        self.used = set()
        self.active = False
        for dotted in forbidden:
            module, _, attr = dotted.partition(":")
            try:
                mod = importlib.import_module(module)
                original = getattr(mod, attr)
            except (ImportError, AttributeError):
                continue
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


def _scaled(function, scale):
    def scaled(*args, **kwargs):
        return scale * function(*args, **kwargs)
    return scaled


def main():
    """Read the request, sandbox this process, run the cells and the calls, stream events on fd 1."""
    raw = sys.stdin.buffer.read()
    request = json.loads(raw)
    events = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    dumps = json.dumps

    def send(**event):
        try:
            events.write(dumps(event) + "\n")
            events.flush()
        except (OSError, ValueError):
            pass

    config = request["sandbox"]
    # The references the grader substitutes, resolved before any student code can touch the library.
    references = {name: _resolve(dotted) for name, dotted in request.get("references", {}).items()}
    call_globals = []
    for call in request["calls"]:
        replaced = {}
        for name, spec in call.get("globals", {}).items():
            fn = _resolve(spec["ref"])
            replaced[name] = _scaled(fn, spec["scale"]) if spec.get("scale", 1.0) != 1.0 else fn
        call_globals.append(replaced)
    calls = [([decode(a) for a in call["args"]], {k: decode(v) for k, v in call.get("kwargs", {}).items()},
              bool(call.get("return_args"))) for call in request["calls"]]
    tracker = _Tracker(request.get("forbidden", []))
    protections = setup_sandbox(config)
    # Student output goes to a file in the work directory, never to the event channel.
    out = os.open(os.path.join(config["workdir"], "output.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    sys.stdout = _CappedOutput(1, config.get("limits", {}).get("output_chars", 100_000))
    sys.stderr = sys.stdout
    send(event="ready", protections=protections)

    pristine = dict(builtins.__dict__)

    def restore_builtins():
        # Student code may patch builtins (isinstance, len, ...); the worker's own code needs the originals.
        builtins.__dict__.update(pristine)
        for name in [k for k in builtins.__dict__ if k not in pristine]:
            del builtins.__dict__[name]

    namespace = {"__name__": "__main__", "__builtins__": builtins, "display": print}
    namespace.update(references)  # the other exercises' functions, for demo code in the student's cell
    for cell in request["cells"]:
        try:
            code = compile(cell["source"], f"<cell {cell['label']}>", "exec")
            exec(code, namespace)
            restore_builtins()
            send(event="cell", label=cell["label"], ok=True)
        except BaseException as exc:  # SyntaxError, SystemExit, anything the student's cell raises
            restore_builtins()
            send(event="cell", label=cell["label"], ok=False, error=_error(exc))
    function = namespace.get(request["function"])
    if not callable(function):
        send(event="function", ok=False, kind=type(function).__name__ if function is not None else "missing")
        send(event="done")
        return
    send(event="function", ok=True, kind=type(function).__name__)
    namespace.update(references)
    for index, ((args, kwargs, return_args), replaced) in enumerate(zip(calls, call_globals)):
        namespace.update(references)
        namespace.update(replaced)
        tracker.used = set()
        tracker.active = True
        try:
            value = function(*args, **kwargs)
            restore_builtins()
            tracker.active = False
            event = {"event": "call", "index": index, "ok": True, "value": encode(value),
                     "used_library": sorted(tracker.used)}
            if return_args:
                event["args_after"] = [encode(a) for a in args]
        except BaseException as exc:
            restore_builtins()
            tracker.active = False
            event = {"event": "call", "index": index, "ok": False, "error": _error(exc),
                     "used_library": sorted(tracker.used)}
        try:
            send(**event)
        except BaseException as exc:
            send(event="call", index=index, ok=False, error=_error(exc), used_library=[])
    send(event="done")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
