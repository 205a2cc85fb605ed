"""The ``activellm-modal`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from activellm_modal.data import SHARED_ENV, default_shared_dir


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="activellm-modal",
        description="ActiveLLM: an LLM chooses the first texts to label (modAL strategy).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="offline demo: GPT-4's recorded SST-2 picks vs random, in a modAL loop"
    )
    demo.add_argument(
        "--shared-dir",
        type=Path,
        default=None,
        help=f"folder with datasets/ and paper/ (default: ${SHARED_ENV} or ../shared)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            from activellm_modal.demo import main as demo_main

            return demo_main(args.shared_dir or default_shared_dir())
    except (FileNotFoundError, ValueError) as error:
        print(f"activellm-modal: error: {error}", file=sys.stderr)
        return 2
    return 1
