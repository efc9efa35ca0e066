"""Fixtures of the browser suite: one JupyterLab server and one Chromium per session, a page per test.

* Without Playwright or /usr/bin/chromium the browser tests are skipped with one line saying how to
  install them; with ``REQUIRE_BROWSER=1`` (set by ``.ci/run``) that is a failure instead.
* The server serves a temp copy of ``notebooks/`` (and ``images/``) and is stopped by its own PID in
  the session fixture's finalizer, whether tests passed or not.
* Screenshots go to ``<pytest basetemp>/browser-screenshots/<test>/``; a failing test's report names
  its folder (and a last screenshot is taken at the moment of failure).
"""

import os
import re
import shutil
from pathlib import Path

import pytest

from .harness import TIMEOUT_SCALE, Lab, LabServer, browser_missing_reason, launch_chromium, new_lab_page

REPO = Path(__file__).resolve().parents[2]
SHOTS_KEY = pytest.StashKey[Path]()
REPORT_KEY = pytest.StashKey[dict]()
MISSING_PREFIX = "browser tests skipped: "


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item.stash.setdefault(REPORT_KEY, {})[report.when] = report
    if report.skipped and isinstance(report.longrepr, tuple) and MISSING_PREFIX in report.longrepr[2]:
        # One location for all of them, so `-ra` prints a single "SKIPPED [N] ...: how to install" line.
        report.longrepr = (str(Path(__file__).relative_to(REPO)), 1, report.longrepr[2])
    shots = item.stash.get(SHOTS_KEY, None)
    if report.failed and shots is not None:
        report.sections.append(("browser screenshots", f"screenshots of this test are in {shots}"))
    return report


def pytest_terminal_summary(terminalreporter, config):
    root = config.stash.get(SHOTS_KEY, None)
    if root is not None and root.exists():
        terminalreporter.write_line(f"browser screenshots: {root}")


@pytest.fixture(scope="session")
def browser_ready():
    """Skip (locally) or fail (REQUIRE_BROWSER=1) when Playwright or Chromium is missing."""
    reason = browser_missing_reason()
    if reason:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(f"{MISSING_PREFIX}{reason}")


@pytest.fixture(scope="session")
def shots_root(tmp_path_factory, request):
    root = tmp_path_factory.getbasetemp() / "browser-screenshots"
    root.mkdir(exist_ok=True)
    request.config.stash[SHOTS_KEY] = root
    return root


@pytest.fixture(scope="session")
def lab_server(browser_ready, tmp_path_factory):
    """JupyterLab on 127.0.0.1 with a token, serving a temp copy of the notebooks; stopped by PID."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "root"
    shutil.copytree(REPO / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    if (REPO / "images").is_dir():
        shutil.copytree(REPO / "images", root / "images")
    server = LabServer(root, base / "home")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def chromium(browser_ready):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def lab_context(chromium):
    """The browser context of every page on the lab. Its one open page is shared by the browser tests:
    loading JupyterLab costs a few seconds of CPU, so the next test opens its notebook in the JupyterLab
    already loaded (``Lab.open``). After a failed test that page is closed, and the next test starts on
    a new one."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000 * TIMEOUT_SCALE)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def lab(request, lab_server, lab_context, shots_root):
    """JupyterLab in the shared page, at 1400x1000, with this test's own screenshot folder; every
    notebook it opened is closed and every kernel stopped when it ends."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:100]
    shots = shots_root / name
    request.node.stash[SHOTS_KEY] = shots
    page = lab_context.pages[0] if lab_context.pages else new_lab_page(lab_context)
    page.set_viewport_size({"width": 1400, "height": 1000})
    helper = Lab(page, lab_server, shots, workspace=name.replace(".", "_"))
    try:
        yield helper
    finally:
        reports = request.node.stash.get(REPORT_KEY, {})
        failed = any(r.failed for r in reports.values())
        if failed:
            helper.screenshot("at-failure")
            if helper.console:
                (shots / "browser-console.txt").write_text("\n".join(helper.console))
        try:
            helper.close()
        except Exception:  # a page the test broke: start the next test on a new one
            failed = True
        if failed:
            page.close()
        lab_server.shutdown_kernels()


@pytest.fixture
def open_copy(lab, lab_server, request):
    """Open a private copy of a notebook (a path in the repo) in the lab; returns the ``Lab``."""

    def _open(repo_path):
        repo_path = Path(repo_path)
        relative = repo_path.resolve().relative_to(REPO)
        original = lab_server.root / relative
        stem = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name)[:60]
        copy = original.with_name(f"{original.stem}__{stem}.ipynb")
        shutil.copyfile(repo_path, copy)
        return lab.open(copy.relative_to(lab_server.root).as_posix())

    return _open
