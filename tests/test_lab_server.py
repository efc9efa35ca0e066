"""The browser suite's JupyterLab server (``tests/browser/harness.LabServer``) without a browser: a server
that lost its port to another process is started again, a bounded number of times."""

import pytest

from tests.browser.harness import BrowserTestError, LabServer, PortLost


def server_losing_its_port(tmp_path, monkeypatch, losses):
    """A LabServer whose first ``losses`` starts exit with the port taken; returns (server, attempts made)."""
    server, tries = LabServer(tmp_path / "root", tmp_path / "home"), []
    server.home.mkdir()  # what the real start makes (``_env``) before the server can lose its port

    def start_once(timeout):
        tries.append(timeout)
        if len(tries) <= losses:
            raise PortLost("jupyter lab exited with 1: The port 41234 is already in use.")
        return server

    monkeypatch.setattr(server, "_start_once", start_once)
    return server, tries


def test_a_server_that_lost_its_port_is_started_again(tmp_path, monkeypatch):
    server, tries = server_losing_its_port(tmp_path, monkeypatch, losses=2)
    assert server.start(timeout=5) is server and len(tries) == 3


def test_a_port_lost_every_time_is_reported_after_the_last_attempt(tmp_path, monkeypatch):
    server, tries = server_losing_its_port(tmp_path, monkeypatch, losses=5)
    with pytest.raises(PortLost, match="already in use"):
        server.start(timeout=5, attempts=3)
    assert len(tries) == 3
    assert issubclass(PortLost, BrowserTestError)  # a test that gives up says so as a browser failure


def test_fewer_than_one_attempt_is_refused(tmp_path):
    with pytest.raises(ValueError, match="attempts must be at least 1"):
        LabServer(tmp_path / "root", tmp_path / "home").start(attempts=0)
