"""Sphinx configuration for the activellm-modal documentation.

Build (warnings are errors, as in CI)::

    .venv/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

``tests/test_docs.py`` runs the same build into a temporary folder, and runs every
``>>>`` example on the pages with :mod:`doctest`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Autodoc imports the package; nothing it imports may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import activellm_modal  # noqa: E402

project = "activellm-modal"
author = "the activellm-modal developers"
copyright = "the activellm-modal developers"
release = activellm_modal.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "numpydoc",
]

exclude_patterns = ["_build"]
templates_path: list[str] = []
html_static_path: list[str] = []

html_theme = "alabaster"
html_theme_options = {
    "description": "An LLM picks the first texts to label, as a modAL query strategy.",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "230px",
}
html_sidebars = {"**": ["about.html", "navigation.html", "searchbox.html"]}
html_title = f"activellm-modal {release}"
html_show_sourcelink = False

# Autodoc: document what a page lists explicitly, in source order, with type hints
# left to the numpydoc "Parameters" sections (the signatures would repeat them).
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {"show-inheritance": False}

# numpydoc: no autosummary tables of every member (those need stub pages), no
# cross-reference guessing for type names (they are prose here).
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# Examples inside docstrings are shown as written; they run under pytest --doctest-modules.
pygments_style = "sphinx"
html_copy_source = False
