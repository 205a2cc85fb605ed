"""The documentation: every ``>>>`` example on its pages runs, and Sphinx builds it cleanly.

The pages in ``docs/`` are reStructuredText; their examples are doctests, run here
with :func:`doctest.testfile` (one test per page). Setup that readers need not see
sits in reST comments (``..`` blocks), which Sphinx does not render but doctest runs.
No example reaches the network: they use in-process stand-in LLMs or the loopback
server of ``tests/openai_server.py``.

The build runs ``sphinx-build -W --keep-going -b html`` into a fresh temporary folder,
so warnings from unchanged pages are never hidden by an incremental build.
"""

from __future__ import annotations

import doctest
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(DOCS.glob("*.rst"))
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def test_every_page_is_in_the_toctree() -> None:
    index = (DOCS / "index.rst").read_text(encoding="utf-8")
    listed = {line.strip() for line in index.splitlines() if line.startswith("   ")}
    missing = [page.stem for page in PAGES if page.stem != "index" and page.stem not in listed]
    assert not missing, f"pages not in the toctree of docs/index.rst: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_examples_run(page: Path) -> None:
    with warnings.catch_warnings():
        # Examples that show a repaired answer catch SelectionWarning themselves;
        # anything else a page triggers must not leak into the test report.
        warnings.simplefilter("ignore")
        result = doctest.testfile(
            str(page),
            module_relative=False,
            optionflags=FLAGS,
            raise_on_error=False,
            verbose=False,
            report=True,
        )
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {page}"


@pytest.mark.slow
def test_sphinx_build_has_no_warnings(tmp_path: Path) -> None:
    pytest.importorskip("sphinx", reason="install the docs extra: pip install -e '.[docs]'")
    pytest.importorskip("numpydoc", reason="install the docs extra: pip install -e '.[docs]'")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [
        sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
        "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html"),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, f"sphinx-build failed:\n{done.stderr[-6000:]}"
    assert (tmp_path / "html" / "api.html").is_file()
