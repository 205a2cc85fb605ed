"""Fixtures for the labelling page: a small SST-2 pool, real servers, a real Chromium."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT_TEXT = '<script>document.title="pwned"</script> <b>not bold</b> & friends'


@pytest.fixture(scope="session")
def pool_csv(tmp_path_factory: pytest.TempPathFactory, sst2_train) -> Path:
    """60 SST-2 texts and one holding HTML and a script, as a CSV with an extra column."""
    frame = sst2_train.iloc[:60][["idx", "text"]].copy()
    frame.loc[len(frame)] = [99999, SCRIPT_TEXT]
    path = tmp_path_factory.mktemp("pool") / "reviews.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def embed_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for every server of the session: MiniLM runs once per pool."""
    return tmp_path_factory.mktemp("cache")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(REPO),
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    env.pop("OPENAI_API_KEY", None)
    env.update(extra)
    return env


class LabelServer:
    """``python -m activellm_modal label ...`` as a real process on a loopback port."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.log = log
        self.env = env or child_env()
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> LabelServer:
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "activellm_modal",
                "label",
                *self.args,
                "--port",
                str(self.port),
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.log.parent,
        )
        handle.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                httpx.get(self.url + "/api/state", timeout=1.0)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def wait_for_item(self, timeout: float = 120.0) -> dict:
        """The state once an item is shown (the worker may still be picking the batch)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = httpx.get(self.url + "/api/state", timeout=10).json()
            if state["item"] is not None:
                return state
            assert state["status"] != "error", state["message"]
            time.sleep(0.1)
        raise TimeoutError("no item shown")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


@pytest.fixture
def label_server(tmp_path: Path, embed_cache: Path) -> Iterator:
    """A factory: ``label_server(args)`` starts a server; all are stopped after the test."""
    servers: list[LabelServer] = []

    def start(args: list[str], env: dict[str, str] | None = None) -> LabelServer:
        args = [*args, "--cache-dir", str(embed_cache)]
        server = LabelServer(args, tmp_path / "server.log", env).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A real headless Chromium (Debian's package) driven by selenium."""
    if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
        pytest.skip(
            "Debian's chromium and chromium-driver are not installed (apt-get install -y "
            "chromium chromium-driver; .ci/run does it)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1000,760",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def suggesting_llm(truth: dict[str, str], invalid_every: int = 0) -> Callable:
    """A fake LLM's answer to the suggestion prompt: the gold label of each text it knows.

    Each text of the fenced block is looked up (whitespace folded, as the prompt
    folds it); unknown texts get the first label; every ``invalid_every``-th
    line names no label at all, to exercise "no suggestion for this text".
    """
    from tests.openai_server import Reply

    known = {" ".join(text.split()): label for text, label in truth.items()}
    labels = sorted(set(truth.values()))

    def answer(body: dict) -> Reply:
        prompt = body["messages"][-1]["content"]
        lines = []
        for number, text in _INSTANCE.findall(prompt):
            if invalid_every and int(number) % invalid_every == invalid_every - 1:
                lines.append(f"[{number}] I cannot tell")
            else:
                lines.append(f"[{number}] {known.get(text.strip(), labels[0])}")
        return Reply("Here are my labels:\n" + "\n".join(lines))

    return answer


_INSTANCE = re.compile(r"^\[(\d+)\] (.*)$", re.MULTILINE)


@pytest.fixture
def fake_llm() -> Iterator:
    """A real OpenAI-protocol HTTP server on 127.0.0.1 (tests/openai_server.py)."""
    from tests.openai_server import ScriptedOpenAIServer

    server = ScriptedOpenAIServer()
    yield server
    server.close()
