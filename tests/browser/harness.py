"""Drive the course in JupyterLab in a real browser: a server on a temp copy, and a page helper.

Two pieces, used by ``tests/browser/conftest.py``:

``LabServer``
    ``jupyter lab`` on 127.0.0.1 with a random token, on a *copy* of the notebooks (autosave writes to
    it), with every Jupyter config/runtime/workspace/settings dir inside a temp dir, started in its own
    process group and stopped by its own PID (``stop()``; the session fixture calls it in a finalizer).

``Lab``
    One browser page showing one notebook, with the steps a person takes: open, clear outputs, Run All,
    wait for the kernel to go idle, move a slider, type into a cell; and the checks: no error output,
    every plot and widget rendered, an image that changed and then settled. Every wait polls a condition
    until a deadline (``wait_until``); nothing synchronises on a fixed sleep.

Selectors are the ones DESIGN.md section 4 lists for JupyterLab 4.6.
"""

import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
INSTALL_HINT = ("install with `apt-get install -y chromium` and `pip install -e '.[browser]'` "
                "(REQUIRE_BROWSER=1 makes this a failure instead of a skip)")

# DOM selectors (JupyterLab 4.6, ipywidgets 8)
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"
CELL = f"{NOTEBOOK} .jp-Cell"
INDICATOR = ".jp-Notebook-ExecutionIndicator"
OUTPUT = ".jp-OutputArea-output"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
SLIDER_HANDLE = ".noUi-handle"  # inside a `.widget-slider` (the element add_class marks)
READOUT = ".widget-readout"
WIDGET_IMG = ".widget-output img"

# What an error looks like once rendered: IPython's traceback header, a "SomethingError: ..." line
# (SyntaxError has no traceback header), or ipywidgets' own failure to render a view.
ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|^\s*\w*(Error|Exception)\b.*:|"
                        r"Error displaying widget|Error rendering output", re.MULTILINE)


#: The window sizes the layout is checked at (issue 16): a student's laptop and a projector; and the
#: smallest figure text allowed on screen there, in CSS px.
LAYOUT_SIZES = [(1280, 800), (1920, 1080)]
MIN_TEXT_PX = 11.0


class BrowserTestError(AssertionError):
    """The course did not behave in the browser; the message says what and where the screenshots are."""


class PortLost(BrowserTestError):
    """JupyterLab exited because another process took its port (``LabServer.start`` tries again)."""


#: Every time limit of the suite is multiplied by this (``BROWSER_TIMEOUT_SCALE``, default 4): a limit
#: is only the point where a test gives up, so it must hold on a machine several times slower than the
#: one the suite was written on (a busy laptop, Binder). A passing test never waits for it.
TIMEOUT_SCALE = float(os.environ.get("BROWSER_TIMEOUT_SCALE", "4"))


def wait_until(condition, *, timeout, interval=0.2, message):
    """Poll ``condition()`` until it returns something truthy; return that value.

    The only synchronisation primitive of the suite: a condition polled against a deadline of
    ``timeout * TIMEOUT_SCALE`` seconds. ``message`` (a string or a callable giving one, evaluated at
    the deadline) says what never happened.
    """
    timeout = timeout * TIMEOUT_SCALE
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            raise BrowserTestError(f"gave up after {timeout:.0f} s waiting: {text}")
        time.sleep(interval)


def browser_missing_reason():
    """None when Playwright and Chromium are both here; otherwise one line saying how to get them."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"Playwright is not installed; {INSTALL_HINT}"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM}; {INSTALL_HINT}"
    return None


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


# ---------------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------------

class LabServer:
    """``jupyter lab`` serving ``root`` (a temp copy), isolated under ``home`` (a temp dir)."""

    def __init__(self, root, home):
        self.root = Path(root)
        self.home = Path(home)
        self.token = secrets.token_hex(24)
        self.port = None
        self.proc = None
        self.log_path = self.home / "jupyter-lab.log"

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def _env(self):
        dirs = {name: self.home / sub for name, sub in [
            ("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"), ("JUPYTERLAB_SETTINGS_DIR", "settings"),
            ("JUPYTER_DATA_DIR", "data"), ("IPYTHONDIR", "ipython")]}
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, **{k: str(v) for k, v in dirs.items()})
        # `make test` exports MPLBACKEND=Agg; a kernel inheriting it would draw no inline plots at all.
        env.pop("MPLBACKEND", None)
        env["PYTHONUNBUFFERED"] = "1"
        self._write_settings(dirs["JUPYTERLAB_SETTINGS_DIR"], dirs["JUPYTER_CONFIG_DIR"])
        return env

    @staticmethod
    def _write_settings(settings_dir, config_dir):
        """User settings of this throwaway lab: no news/update toasts, every cell attached to the DOM."""
        settings = {
            "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                {"fetchNews": "false", "checkForUpdates": False},
            # 'none': all cells are in the DOM, so "every output rendered" can be checked on all of them.
            "@jupyterlab/notebook-extension/tracker.jupyterlab-settings":
                {"windowingMode": "none"},
        }
        for rel, value in settings.items():
            path = Path(settings_dir) / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        config = {"LabApp": {"news_url": None,
                             "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}}
        for name in ("jupyter_server_config.json", "jupyter_lab_config.json"):
            (Path(config_dir) / name).write_text(json.dumps(config))
        # The lab students and instructors open (`make lab`) has no nbgrader; `make test-slow` installs it
        # into the same environment, and its extension adds menus and panels. Test the course's lab.
        labconfig = Path(config_dir) / "labconfig"
        labconfig.mkdir(exist_ok=True)
        (labconfig / "page_config.json").write_text(json.dumps({"disabledExtensions": {"@jupyter/nbgrader": True}}))

    def start(self, timeout=90, attempts=3):
        """Start ``jupyter lab`` on a port the system picks, and wait until it answers; return self.

        The server is given port 0 and its port is read back from its own runtime file
        (``jpserver-<pid>.json``). A free port picked here and passed on could be taken by another process
        (another worker's kernel binds its ZMQ ports the same way) in the seconds before the server binds
        it; then the probes met that socket instead ("BadStatusLine"). A server that still loses its port
        (it checks and binds a moment apart) exits, and is started again, up to ``attempts`` times.
        """
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        for attempt in range(1, attempts + 1):
            try:
                return self._start_once(timeout)
            except PortLost:
                if attempt == attempts:
                    raise
                with open(self.log_path, "ab") as log:  # the next attempt's log follows this line
                    log.write(f"--- attempt {attempt}: the port was lost; starting again ---\n".encode())

    def _start_once(self, timeout):
        env = self._env()
        self.port = None
        cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser",
               "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0", "--ServerApp.port_retries=0",
               f"--ServerApp.token={self.token}", f"--ServerApp.root_dir={self.root}",
               "--ServerApp.open_browser=False",
               # window.jupyterapp: a page that has loaded JupyterLab opens the next test's notebook
               # with the app's own command, without loading JupyterLab again (``Lab.open``)
               "--LabApp.expose_app_in_browser=True"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log = open(self.log_path, "ab")  # appended: a lost port's attempt stays readable
        this_attempt = self._log.tell()  # where this attempt's own lines begin
        # Own process group: stop() can reach kernels the server leaves behind, and nothing else.
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        info = Path(env["JUPYTER_RUNTIME_DIR"]) / f"jpserver-{self.proc.pid}.json"

        def ready():
            if self.proc.poll() is not None:
                own = self.log_path.read_bytes()[this_attempt:].decode(errors="replace")
                kind = PortLost if re.search(r"The port \d+ is already in use", own) else BrowserTestError
                raise kind(f"jupyter lab exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self.port is None:
                try:
                    self.port = int(json.loads(info.read_text())["port"])
                except (OSError, ValueError, KeyError, TypeError):
                    return False  # not written yet (or half written)
            try:
                return self.api("GET", "/api/status") is not None
            except (urllib.error.URLError, ConnectionError, OSError, http.client.HTTPException):
                return False

        try:
            wait_until(ready, timeout=timeout, interval=0.3,
                       message=lambda: f"jupyter lab to answer (port {self.port}):\n{self.log_tail()}")
        except BaseException:
            self.stop()
            raise
        return self

    def api(self, method, path, body=None):
        request = urllib.request.Request(
            self.base_url + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            data = response.read()
        return json.loads(data) if data else {}

    def shutdown_kernels(self):
        """Stop every kernel (between tests, so CPU goes to the next notebook)."""
        try:
            for kernel in self.api("GET", "/api/kernels"):
                self.api("DELETE", f"/api/kernels/{kernel['id']}")
        except (urllib.error.URLError, OSError):
            pass

    def log_tail(self, n=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self):
        """Stop the server by its own PID: SIGTERM, then SIGKILL to its process group if it lingers."""
        if self.proc is None:
            return
        pid = self.proc.pid
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        try:  # kernels are in the server's own group (pgid == pid); none should outlive it
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._log.close()
        self.proc = None


# ---------------------------------------------------------------------------------------------------
# One notebook in one page
# ---------------------------------------------------------------------------------------------------

# Errors raised by widget callbacks happen in reply to a comm_msg, not in a cell: JupyterLab sends them to
# its Log Console, not to the notebook. This script, added to every page before JupyterLab loads, listens
# on each kernel websocket *inside the page* and keeps those errors in ``window.__kernelErrors``. Its
# listener is registered when the socket is made, before JupyterLab's own handler, so by the time the
# page shows the kernel idle it has seen every frame that came before the idle one. (Listening from
# Python instead, through Playwright's websocket events, loses that order: the browser's network
# process reports frames on its own schedule, later than the page acts on them on a busy machine.)
# Frames follow the v1.kernel.websocket.jupyter.org protocol (a binary frame: number of parts, their
# offsets as little-endian uint64, then channel, header, parent header, metadata, content) or are one
# JSON text frame (the legacy protocol).
KERNEL_ERRORS_SCRIPT = r"""
(() => {
  const Native = window.WebSocket;
  const errors = window.__kernelErrors = [];
  // The requests each kernel socket shows busy (busy without its idle yet). JupyterLab's execution
  // indicator follows cell runs, not a widget's comm messages, which ipykernel 7 may also handle side by
  // side (subshells): one message's idle can come while another's callback still runs and has yet to
  // send its error. A (re)starting or dead kernel has nothing in flight.
  const busy = new Map();
  function noteStatus(socket, state, parent) {
    if (!busy.has(socket)) busy.set(socket, new Set());
    const running = busy.get(socket), id = (parent || {}).msg_id;
    if (state === 'busy' && id) running.add(id);
    else if (state === 'idle') running.delete(id);
    else if (state !== 'busy') running.clear();
  }
  window.__kernelBusy = () => [...busy.values()].some(running => running.size > 0);
  const text = new TextDecoder();
  const ansi = /\x1b\[[0-9;]*m/g;
  const errorText = /Traceback \(most recent call last\)|^\s*\w*(Error|Exception)\b.*:/m;
  function decode(data) {
    if (typeof data === 'string') {
      const m = JSON.parse(data);
      return [m.channel, m.header || {}, m.parent_header || {}, m.content || {}];
    }
    const view = new DataView(data);
    const count = Number(view.getBigUint64(0, true));
    const offsets = [];
    for (let i = 0; i < count; i++) offsets.push(Number(view.getBigUint64(8 + 8 * i, true)));
    offsets.push(data.byteLength);
    const part = i => text.decode(new Uint8Array(data, offsets[i], offsets[i + 1] - offsets[i]));
    return [part(0), JSON.parse(part(1)), JSON.parse(part(2)), JSON.parse(part(4))];
  }
  function record(socket, data) {
    let channel, header, parent, content;
    try { [channel, header, parent, content] = decode(data); } catch (e) { return; }
    const parentType = (parent || {}).msg_type;
    if (channel === 'iopub' && header.msg_type === 'status') noteStatus(socket, content.execution_state, parent);
    if (channel !== 'iopub' || !parentType || parentType === 'execute_request') return;
    if (header.msg_type === 'error') {
      errors.push(`${parentType}: ${content.ename}: ${content.evalue}`);
    } else if (header.msg_type === 'stream' && content.name === 'stderr' && errorText.test(content.text || '')) {
      const lines = content.text.replace(ansi, '').trim().split('\n');
      errors.push(`${parentType}: stderr: ` + lines.slice(-3).join(' | '));
    }
  }
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      if (String(url).includes('/api/kernels/')) {
        this.addEventListener('message', ev => record(this, ev.data));
        this.addEventListener('close', () => busy.delete(this));
      }
    }
  };
})();
"""


def new_lab_page(context):
    """A page of ``context`` that records the kernel's errors (``KERNEL_ERRORS_SCRIPT``) from its first
    load on; ``Lab.open`` loads JupyterLab into it, and later ``Lab``s reuse it (see ``Lab``)."""
    page = context.new_page()
    page.add_init_script(KERNEL_ERRORS_SCRIPT)
    return page


class Lab:
    """A page of JupyterLab showing one notebook, with the actions and checks of the tests.

    Loading JupyterLab takes a few seconds of CPU, so a page is reused from test to test (the browser
    fixtures do this): ``open`` loads JupyterLab only into a page that does not show it yet, and then
    opens the notebook with the app's own command; ``close`` disposes of the notebook again. Whatever
    this ``Lab`` reports (console errors, the kernel's errors) starts from its creation, so nothing of an
    earlier test's notebook is counted here.
    """

    def __init__(self, page, server, shots_dir, workspace):
        self.page = page
        self.server = server
        self.shots_dir = Path(shots_dir)
        self.workspace = workspace
        self.path = None
        self._shot = 0
        self.console = []
        self._kernel_errors_reported = 0
        self._kernel_errors_from = page.evaluate("() => window.__kernelErrors ? window.__kernelErrors.length : 0")
        self._listeners = [("console", lambda msg: self.console.append(f"{msg.type}: {msg.text}")
                            if msg.type == "error" else None),
                           ("pageerror", lambda exc: self.console.append(f"pageerror: {exc}"))]
        for event, listener in self._listeners:
            page.on(event, listener)

    def close(self):
        """Dispose of every document open in the page (marked unchanged first: no "save?" dialog) and stop
        listening to it; the page stays, with JupyterLab loaded, for the next ``Lab``."""
        self.page.evaluate("""() => {
            const app = window.jupyterapp;
            if (!app) return;
            for (const widget of Array.from(app.shell.widgets('main'))) {
                if (widget.context && widget.context.model) widget.context.model.dirty = false;
                widget.dispose();
            }
        }""")
        for event, listener in self._listeners:
            self.page.remove_listener(event, listener)

    @property
    def kernel_errors(self):
        """Errors the kernel raised outside any cell (widget callbacks) since this Lab began, as the page
        received them."""
        return self.page.evaluate("from => window.__kernelErrors ? window.__kernelErrors.slice(from) : []",
                                  self._kernel_errors_from)

    def _unreported_kernel_errors(self):
        """Kernel errors no wait has reported yet, and mark them reported.

        A cursor, not a count taken when a wait starts: on a busy machine the kernel can raise (and the
        page receive it) before the harness even begins to wait for the view the action changed.
        """
        errors = self.kernel_errors
        if len(errors) < self._kernel_errors_reported:  # a new page: its list starts empty
            self._kernel_errors_reported = 0
        new = errors[self._kernel_errors_reported:]
        self._kernel_errors_reported = len(errors)
        return new

    # -- screenshots --------------------------------------------------------------------------------
    def screenshot(self, label, show=None):
        """Save a screenshot (after scrolling ``show``, a locator, into view); return its path."""
        self.shots_dir.mkdir(parents=True, exist_ok=True)
        if show is not None:
            try:
                show.scroll_into_view_if_needed(timeout=5000)
            except Exception:
                pass
        self._shot += 1
        path = self.shots_dir / f"{self._shot:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', label)}.png"
        try:
            self.page.screenshot(path=str(path), full_page=True)
        except Exception as exc:  # a screenshot must never hide the real failure
            path.with_suffix(".txt").write_text(f"screenshot failed: {exc}")
        return path

    # -- opening ------------------------------------------------------------------------------------
    def open(self, path, timeout=90):
        """Open ``path`` (relative to the server root); wait for its cells and its kernel.

        A page that already shows JupyterLab opens it with the app's command (``docmanager:open``); any
        other page loads JupyterLab on it, in a fresh workspace.
        """
        self.path = path
        expected = len(nbformat.read(self.server.root / path, as_version=4).cells)
        if self.page.evaluate("() => !!(window.jupyterapp && window.jupyterapp.shell)"):
            self.page.evaluate("path => window.jupyterapp.commands.execute("
                               "'docmanager:open', {path, factory: 'Notebook'})", path)
        else:
            url = (f"{self.server.base_url}/lab/workspaces/{self.workspace}/tree/{path}"
                   f"?reset&token={self.server.token}")
            self.page.goto(url, wait_until="domcontentloaded")
        wait_until(lambda: self.page.locator(CELL).count() == expected, timeout=timeout,
                   message=lambda: f"{path}: {expected} cells in the DOM (have {self.page.locator(CELL).count()})")
        self.dismiss_toasts()
        self.wait_idle(timeout=timeout, what="kernel to start")
        return self

    def dismiss_toasts(self):
        """Close notification toasts (the "Jupyter news" question among them) if any are showing."""
        for label in ("No", "Dismiss"):
            buttons = self.page.locator(f".Toastify__toast button:has-text('{label}')")
            for i in range(buttons.count()):
                try:
                    buttons.nth(i).click(timeout=2000)
                except Exception:
                    pass
        closes = self.page.locator(".Toastify__toast .Toastify__close-button, .jp-toast-button.jp-mod-link")
        for i in range(closes.count()):
            try:
                closes.nth(i).click(timeout=2000)
            except Exception:
                pass

    # -- kernel state -------------------------------------------------------------------------------
    def kernel_state(self):
        """(status, busy prompts), read in one call to the page (the waits ask several times a second).

        status: 'idle' when the notebook's indicator says so and every request the kernel said it was busy
        with has had its idle (as the page's kernel sockets carried them), 'busy' when only the second
        part fails, else the indicator's own status (None without an indicator). The second part matters
        for widgets: their comm messages make the kernel busy without the indicator showing it, and a
        callback's error reaches the page before that request's idle does.
        busy prompts: the number of cells whose prompt shows `[*]` (running or queued).
        """
        return tuple(self.page.evaluate(
            """([indicator, sel]) => {
                 const shown = document.querySelector(indicator);
                 let status = shown ? shown.getAttribute('data-status') : null;
                 if (status === 'idle' && window.__kernelBusy && window.__kernelBusy()) status = 'busy';
                 const prompts = [...document.querySelectorAll(sel + ' .jp-InputPrompt')]
                                   .filter(p => p.textContent.includes('*')).length;
                 return [status, prompts];
               }""", [INDICATOR, CELL]))

    def kernel_status(self):
        """The status part of ``kernel_state``."""
        return self.kernel_state()[0]

    def busy_prompts(self):
        """Number of cells whose prompt shows `[*]` (running or queued)."""
        return self.kernel_state()[1]

    def idle(self):
        """The kernel idle and no cell running or queued (``kernel_state``)."""
        return self.kernel_state() == ("idle", 0)

    def wait_idle(self, timeout=120, stable_polls=3, what="kernel to be idle"):
        """Wait until the kernel is idle and no cell is queued, for ``stable_polls`` polls in a row."""
        streak = {"n": 0}

        def idle():
            if self.idle():
                streak["n"] += 1
            else:
                streak["n"] = 0
            return streak["n"] >= stable_polls

        wait_until(idle, timeout=timeout, interval=0.25,
                   message=lambda: f"{self.path}: {what} (status {self.kernel_status()!r}, "
                                   f"{self.busy_prompts()} cells still [*])")

    # -- menus --------------------------------------------------------------------------------------
    def menu(self, menu_label, command):
        """Click the top menu ``menu_label``, then the item running ``command``."""
        self.page.locator(f".lm-MenuBar-itemLabel:text-is('{menu_label}')").click()
        item = self.page.locator(f"li.lm-Menu-item[data-command='{command}']")
        item.first.wait_for(state="visible", timeout=10000 * TIMEOUT_SCALE)
        item.first.click()

    def clear_outputs(self):
        self.menu("Edit", "editmenu:clear-all")  # "Clear Outputs of All Cells"
        wait_until(lambda: self.page.locator(f"{CELL} {OUTPUT}").count() == 0, timeout=30,
                   message=f"{self.path}: outputs to disappear after Clear Outputs of All Cells")

    def run_all(self, timeout=240, attempts=3):
        """Run All from the Run menu and wait until every cell has run and the kernel is idle.

        The notebook is made the active panel first (the menu's Run All acts on the active one). A click
        that a busy page lost (nothing started: no prompt shows a number or [*]) is repeated, up to
        ``attempts`` times; a Run All that started is never repeated.
        """
        started = lambda: self.page.evaluate(  # noqa: E731
            """sel => [...document.querySelectorAll(sel + '.jp-CodeCell .jp-InputPrompt')]
                     .some(p => /\\[(\\d+|\\*)\\]/.test(p.textContent))""", CELL)
        for attempt in range(1, attempts + 1):
            self.page.locator(f"{NOTEBOOK} .jp-Cell .jp-InputPrompt").first.click()
            self.menu("Run", "runmenu:run-all")
            try:
                wait_until(started, timeout=15, message=f"{self.path}: Run All to start")
                break
            except BrowserTestError:
                if attempt == attempts or self.busy_prompts():
                    raise
        self.wait_idle(timeout=timeout, what="Run All to finish")

    # -- reading the page ---------------------------------------------------------------------------
    def cells(self):
        """Per cell: its type, its prompt, the MIME types and text of its outputs, images and widgets."""
        return self.page.evaluate(
            """sel => [...document.querySelectorAll(sel)].map((cell, index) => {
                 const outs = [...cell.querySelectorAll('.jp-OutputArea-output')];
                 const imgs = [...cell.querySelectorAll('.jp-OutputArea-output img, .jp-RenderedMarkdown img')];
                 return {
                   index,
                   code: cell.classList.contains('jp-CodeCell'),
                   prompt: (cell.querySelector('.jp-InputPrompt') || {}).textContent || '',
                   source: (cell.querySelector('.cm-content') || {}).innerText || '',
                   mimes: outs.map(o => o.getAttribute('data-mime-type')),
                   stderr: outs.filter(o => o.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr')
                               .map(o => o.innerText),
                   text: outs.map(o => o.innerText).join('\\n'),
                   images: imgs.map(i => ({src: (i.getAttribute('src') || '').slice(0, 64),
                                           loaded: i.complete && i.naturalWidth > 0,
                                           width: i.naturalWidth})),
                   // a widget view is an output whose own child is the widget's root element, on screen
                   widgetsRendered: outs.filter(o => {
                       const root = o.querySelector(':scope > .jupyter-widgets');
                       return root && root.offsetHeight > 0 && root.offsetWidth > 0; }).length,
                 };
               })""", CELL)

    def errors(self, cells=None):
        """Every error in the notebook, as 'cell N: last lines' strings (empty when clean).

        With ``cells=None``: all cells, plus errors the kernel raised in widget callbacks.
        """
        found = []
        for cell in cells if cells is not None else self.cells():
            for text in cell["stderr"]:
                if ERROR_TEXT.search(text):
                    found.append(f"cell {cell['index']}: " + " | ".join(text.strip().splitlines()[-3:]))
            if "Error displaying widget" in cell["text"]:
                found.append(f"cell {cell['index']}: a widget failed to render: {cell['text'][:200]}")
        if cells is None:
            found += [f"kernel, in reply to {e}" for e in self.kernel_errors]
        return found

    def assert_no_errors(self, context=""):
        errors = self.errors()
        if errors:
            shot = self.screenshot("errors")
            raise BrowserTestError(f"{self.path}{context}: error output in the notebook:\n  "
                                   + "\n  ".join(errors) + f"\n(screenshot: {shot})")

    def assert_rendered(self, master_path):
        """Every figure, plot and widget the master notebook has is rendered, in the same cell, in the page.

        Markdown cells with an image (``![..](..)``, attachments included) must show a loaded image;
        ``master_path``'s stored outputs say which code cells draw a picture (``image/png``) and which show
        a widget; after Run All those cells must show a loaded ``<img>`` (naturalWidth > 0) and a
        rendered widget view (``.jupyter-widgets`` inside the widget output). Any image anywhere must
        have loaded. Returns (plots, widgets) counted, so a test can assert it checked something.
        """
        master = nbformat.read(master_path, as_version=4)
        cells = self.cells()
        assert len(cells) == len(master.cells), f"{self.path}: {len(cells)} cells in page, {len(master.cells)} in master"
        problems, plots, widgets = [], 0, 0
        for index, (mcell, cell) in enumerate(zip(master.cells, cells)):
            if mcell.cell_type == "markdown" and ("![" in mcell.source or "<img" in mcell.source):
                plots += 1
                if not any(i["loaded"] for i in cell["images"]):
                    problems.append(f"cell {index}: the markdown shows a figure, the page has no loaded image "
                                    f"(images: {cell['images']})")
            if mcell.cell_type != "code":
                continue
            stored = [o for o in mcell.get("outputs", []) if o.get("output_type") in ("display_data", "execute_result")]
            if any("image/png" in o.get("data", {}) for o in stored):
                plots += 1
                if not any(i["loaded"] for i in cell["images"]):
                    problems.append(f"cell {index}: the master shows a plot, the page has no loaded image "
                                    f"(images: {cell['images']}, outputs: {cell['mimes']})")
            views = sum(WIDGET_VIEW_MIME in o.get("data", {}) for o in stored)
            if views:
                widgets += views
                if cell["widgetsRendered"] < views:
                    problems.append(f"cell {index}: the master shows {views} widget(s), the page rendered "
                                    f"{cell['widgetsRendered']} (outputs: {cell['text'][:120]!r})")
            if cell["code"] and "[*]" in cell["prompt"]:
                problems.append(f"cell {index}: still running ({cell['prompt']})")
            for image in cell["images"]:
                if not image["loaded"]:
                    problems.append(f"cell {index}: an image did not load ({image['src']}...)")
        if problems:
            shot = self.screenshot("not-rendered")
            raise BrowserTestError(f"{self.path}: not everything rendered:\n  " + "\n  ".join(problems)
                                   + f"\n(screenshot: {shot})")
        return plots, widgets

    def assert_all_cells_ran(self):
        """Every code cell has an execution count (Run All did not stop part-way)."""
        not_run = [c["index"] for c in self.cells() if c["code"] and c["source"].strip()
                   and not re.search(r"\[\d+\]", c["prompt"])]
        if not_run:
            shot = self.screenshot("not-run")
            raise BrowserTestError(f"{self.path}: code cells {not_run} did not run (screenshot: {shot})")

    # -- widgets ------------------------------------------------------------------------------------
    def widget(self, css_class):
        """The widget carrying ``css_class`` (given by ``add_class``), in the visible notebook."""
        return self.page.locator(f"{NOTEBOOK} .{css_class}").first

    def image_digest(self, scope):
        """SHA-256 of the bytes of ``scope`` (an Image widget) or of the first loaded image inside it.

        Compares pictures, not URLs: an Image widget gets a new ``blob:`` URL on every update, even
        when the picture is the same. None while there is no loaded image. The waits ask several times a
        second, so the page keeps each ``blob:`` URL's digest (the bytes behind such a URL never change)
        and hashes a widget's picture once, when its URL is new.
        """
        return scope.evaluate(
            """async el => {
                 const i = [el, ...el.querySelectorAll('img')].find(
                     i => i.tagName === 'IMG' && i.complete && i.naturalWidth > 0);
                 if (!i) return null;
                 const known = window.__imageDigests = window.__imageDigests || new Map();
                 const src = i.src, fixed = src.startsWith('blob:');
                 if (fixed && known.has(src)) return known.get(src);
                 const bytes = await (await fetch(src)).arrayBuffer();
                 const hash = await crypto.subtle.digest('SHA-256', bytes);
                 const hex = [...new Uint8Array(hash)].map(b => b.toString(16).padStart(2, '0')).join('');
                 if (fixed) { if (known.size > 500) known.clear(); known.set(src, hex); }
                 return hex;
               }""")

    def wait_settled(self, read, *, changed_from=None, timeout=60, stable_polls=4, what="the view"):
        """Wait until ``read()`` differs from ``changed_from`` and then stays the same while the kernel
        is idle, for ``stable_polls`` polls in a row (each keypress redraws; the last redraw wins).
        Returns the settled value."""
        state = {"last": object(), "streak": 0}

        def settled():
            new = self._unreported_kernel_errors()
            if new:
                shot = self.screenshot("kernel-error")
                raise BrowserTestError(f"{self.path}: the kernel raised while waiting for {what} to settle:\n  "
                                       + "\n  ".join(new) + f"\n(screenshot: {shot})")
            value = read()
            if value is None or value == changed_from:
                state["streak"] = 0
                return False
            if value == state["last"] and self.idle():
                state["streak"] += 1
            else:
                state["streak"] = 0
            state["last"] = value
            return state["streak"] >= stable_polls

        wait_until(settled, timeout=timeout, interval=0.25,
                   message=lambda: f"{self.path}: {what} to change and settle "
                                   f"(changed: {read() != changed_from}, kernel {self.kernel_status()!r})")
        return state["last"]

    def press_slider(self, scope, key, times=1):
        """Focus the slider handle inside ``scope`` and press ``key`` ``times`` times (as a person does)."""
        handle = scope.locator(SLIDER_HANDLE).first
        handle.scroll_into_view_if_needed()
        handle.focus()
        for _ in range(times):
            handle.press(key)

    def type_readout(self, scope, text):
        """Type ``text`` into the slider's readout (contentEditable) and press Enter."""
        readout = scope.locator(READOUT).first
        readout.scroll_into_view_if_needed()
        readout.click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.type(text)
        self.page.keyboard.press("Enter")

    def choose(self, scope, label):
        """Pick ``label`` in the dropdown ``scope`` (an ipywidgets Dropdown: a <select> inside)."""
        select = scope.locator("select").first
        select.scroll_into_view_if_needed()
        labels = select.evaluate("s => [...s.options].map(o => o.text.replace(/\\u00a0/g, ' '))")
        assert label in labels, f"{label!r} is not an option of the dropdown: {labels}"
        select.select_option(index=labels.index(label))

    def chosen(self, scope):
        """The label currently selected in the dropdown ``scope`` (ipywidgets shows spaces as NBSP)."""
        return scope.locator("select").first.evaluate(
            "s => s.options[s.selectedIndex].text.replace(/\\u00a0/g, ' ')")

    def readout_text(self, scope):
        return scope.locator(READOUT).first.inner_text().strip()

    def html_text(self, widget):
        """The visible text of an HTML widget (its content, not its empty label)."""
        content = widget.locator(".widget-html-content")
        return (content.first if content.count() else widget).inner_text().strip()

    # -- editing ------------------------------------------------------------------------------------
    def cell(self, index):
        return self.page.locator(CELL).nth(index)

    def replace_cell_source(self, index, text):
        """Click into cell ``index``'s editor, select everything and put ``text`` there (as a paste)."""
        editor = self.cell(index).locator(".cm-content").first
        editor.scroll_into_view_if_needed()
        editor.click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.press("Delete")
        self.page.keyboard.insert_text(text)
        wait_until(lambda: editor.inner_text().strip().splitlines()[:1] == text.strip().splitlines()[:1],
                   timeout=10, message=f"cell {index}: the typed source to appear in the editor")

    def run_cell(self, index, timeout=120):
        """Select cell ``index`` and run it with Ctrl+Enter; wait for its prompt number and an idle kernel."""
        before = self.cells()[index]["prompt"]
        self.cell(index).locator(".jp-InputArea-prompt, .jp-InputPrompt").first.click()
        self.page.keyboard.press("Control+Enter")
        wait_until(lambda: (p := self.cells()[index]["prompt"]) != before and re.search(r"\[\d+\]", p),
                   timeout=timeout, message=f"cell {index}: to run (prompt was {before!r})")
        self.wait_idle(timeout=timeout, what=f"cell {index} to finish")
        return self.cells()[index]
