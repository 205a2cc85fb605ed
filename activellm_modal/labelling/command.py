"""``activellm-modal label DATA --labels neg,pos``: the arguments and the server start."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

from activellm_modal.exceptions import LabellingError

#: What each ``--strategy`` costs, for ``--help`` (embedding times: measured on 2 CPU cores).
COSTS = """\
what each --strategy costs (every strategy also embeds the pool once with the
default encoder, all-mpnet-base-v2, for the classifier: about 15 s per 1,000
short texts on 2 idle CPU cores (all-MiniLM-L6-v2 with ACTIVELLM_ENCODER=minilm:
about 3 s), then cached in --cache-dir; each retraining fits on the cached
embeddings):

  default  the library's default pipeline, ActiveLLM() (preset "coverage"), for
           batch 1, then uncertainty sampling. With --base-url/--model: 1 LLM
           call for batch 1, plus the encoder's embeddings of a 2,000-text subsample
           (about 26 s with mpnet, 6 s with MiniLM on 2 idle cores, once per process);
           later batches: no LLM call. Offline (no
           --base-url): no LLM call at all; batch 1 is the text nearest each of
           k k-means centres of the pool embeddings (the LLM's part left out),
           then uncertainty sampling as above.
  paper    the paper's ActiveLLM (preset "paper") for every batch: 1 LLM call
           per batch, no extra embedding. Offline on the shared sst2 task: the
           paper's recorded GPT-4 answers, then random picks; no call.
  hybrid   the paper's ActiveLLM for batch 1 (1 LLM call, or a recording), then
           uncertainty sampling: no more calls.
  random   uniform, seeded: no LLM call.

LLM suggestions (with --base-url/--model, unless --no-suggestions): 1 more LLM
call per batch, none where the selection call already guessed the labels. A
failed call leaves the page usable and says so. The key is read from
$OPENAI_API_KEY and is never stored, logged or shown.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``label`` subcommand's options."""
    from activellm_modal.labelling.strategies import STRATEGIES

    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the cost table's lines
    parser.epilog = COSTS

    parser.add_argument(
        "data",
        help="a .csv/.tsv/.jsonl/.parquet file with a text column, a .txt file (one text per "
        "line), or a task of the shared datasets folder (e.g. sst2)",
    )
    parser.add_argument(
        "--labels",
        help="label names in key order, e.g. negative,positive (default: the task's labels.json)",
    )
    parser.add_argument("--text-column", default="text", help="text column (default: text)")
    parser.add_argument(
        "--pair-columns",
        metavar="A,B",
        help="label sentence pairs: the two text columns, shown side by side "
        "(e.g. text_a,text_b for MRPC or RTE)",
    )
    parser.add_argument("--limit", type=int, help="label the first N texts only")
    parser.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="default",
        help="default: the library's default pipeline (ActiveLLM, then uncertainty; offline: "
        "embedding k-means, then uncertainty); paper: the paper's ActiveLLM every batch; "
        "hybrid: the paper's ActiveLLM, then uncertainty; random. Costs: see below",
    )
    parser.add_argument(
        "--base-url",
        help="OpenAI-compatible endpoint for the LLM strategies and suggestions; key: "
        "$OPENAI_API_KEY",
    )
    parser.add_argument("--model", help="model name on --base-url")
    parser.add_argument(
        "--no-suggestions",
        action="store_true",
        help="do not ask the LLM for a suggested label of each text (asked by default when "
        "--base-url/--model are given)",
    )
    parser.add_argument("--batch-size", type=int, default=10, help="texts per round (default 10)")
    parser.add_argument(
        "--classifier",
        help="scikit-learn classifier on the default encoder's embeddings, as module.Class "
        "(default: sklearn.linear_model.LogisticRegression, C=10)",
    )
    parser.add_argument("--db", type=Path, help="label database (default: DATA-labels.sqlite)")
    parser.add_argument(
        "--export",
        type=Path,
        help="write the labels (and the LLM's suggestions) to .csv/.jsonl, the learning curve "
        "to a PNG beside it (NAME-curve.png), and exit",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every strategy (default 0)")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="embedding cache (default: $XDG_CACHE_HOME/activellm-modal or ~/.cache/...)",
    )
    parser.add_argument("--data-dir", type=Path, help="shared datasets folder, for task names")
    parser.add_argument("--paper-dir", type=Path, help="the paper's recorded answers")


def run(args: argparse.Namespace) -> int:
    """Open the session's database and serve the page until Ctrl+C."""
    from activellm_modal.data import default_shared_dir
    from activellm_modal.labelling.dataset import load_data, parse_labels
    from activellm_modal.labelling.store import LabelStore
    from activellm_modal.labelling.strategies import (
        StrategyContext,
        needs_model,
        paper_recordings,
    )

    if args.batch_size < 1:
        raise LabellingError(f"--batch-size {args.batch_size}: give at least 1.")
    if args.limit is not None and args.limit < 1:
        raise LabellingError(f"--limit {args.limit}: give at least 1.")
    if bool(args.base_url) != bool(args.model):
        raise LabellingError("an LLM endpoint needs both --base-url and --model.")
    shared = default_shared_dir()
    data_dir = args.data_dir or shared / "datasets"
    paper_dir = args.paper_dir or shared / "paper"
    task = None if Path(args.data).is_file() else str(args.data)
    recordings = paper_recordings(paper_dir, task)
    # A slice keeps the recorded rows whatever the strategy, so one database serves them all.
    keep = [row for recording in recordings for row in recording.ids]
    if args.base_url:
        recordings = []  # a live endpoint answers; nothing is replayed
    data = load_data(
        args.data,
        text_column=args.text_column,
        limit=args.limit,
        data_dir=data_dir,
        keep_rows=keep,
        pair_columns=_pair_columns(args.pair_columns),
    )
    if data.task is not None and args.limit is None and len(data) > 5000:
        data.notes.append(
            f"labelling all {len(data)} texts of {data.task}: the embeddings of all of "
            "them are computed first (minutes on a CPU, once); --limit 1000 starts faster"
        )
    if args.labels is None and data.labels is None:
        raise LabellingError("pass --labels with the label names, e.g. --labels negative,positive.")
    labels = parse_labels(args.labels if args.labels is not None else data.labels)
    classifier = _classifier(args.classifier)
    proba = classifier is None or hasattr(classifier, "predict_proba")
    if needs_model(args.strategy) and not proba:
        raise LabellingError(
            f"--classifier {args.classifier} has no predict_proba, which the "
            f"{args.strategy} strategy's uncertainty sampling needs: choose another "
            "classifier or --strategy paper/random."
        )
    if args.strategy in ("paper", "hybrid") and not (args.base_url or recordings):
        from activellm_modal.labelling.strategies import build_strategy

        build_strategy(args.strategy, StrategyContext())  # raises the message naming the fix
    db = args.db or Path(f"{Path(str(args.data)).stem}-labels.sqlite")
    store = LabelStore.open(
        db, fingerprint=data.fingerprint, labels=labels, source=data.source, n_texts=len(data)
    )
    try:
        if args.export:
            path = store.export(args.export)
            print(f"wrote {len(store.labelled())} labels to {path}")
            curve = write_curve_png(store.curve(), curve_path(path))
            if curve is not None:
                print(f"wrote the learning curve to {curve}")
            return 0
        cache_dir = args.cache_dir or _default_cache()
        context = StrategyContext(
            seed=args.seed,
            labels=labels,
            base_url=args.base_url,
            model=args.model,
            recordings=recordings,
            cache_dir=str(cache_dir / "llm") if args.base_url else None,
        )
        suggester = None
        if args.base_url and not args.no_suggestions:
            from activellm_modal.labelling.suggest import openai_suggester

            suggester = openai_suggester(args.model, args.base_url, labels, data.description)
        return serve(
            data,
            store,
            args,
            classifier=classifier,
            context=context,
            cache_dir=cache_dir / "emb",
            suggester=suggester,
        )
    finally:
        store.close()


def serve(data: Any, store: Any, args: argparse.Namespace, **session_args: Any) -> int:
    """Start the session and uvicorn; returns when the server stops."""
    import uvicorn

    from activellm_modal.labelling.app import LOOPBACK_HOSTS, create_app
    from activellm_modal.labelling.session import LabellingSession

    session = LabellingSession(
        data, store, strategy=args.strategy, batch_size=args.batch_size, **session_args
    )
    loopback = args.host in ("127.0.0.1", "localhost", "::1")
    if not loopback:
        print(
            f"warning: serving on {args.host}: anyone who reaches it can label; the page has no "
            "login.",
            file=sys.stderr,
        )
    app = create_app(session, allowed_hosts=LOOPBACK_HOSTS if loopback else ["*"])
    for note in data.notes:
        print(f"note: {note}")
    print(
        f"Labelling {len(data)} texts from {data.source} with strategy {args.strategy}; "
        f"labels are saved in {store.path}",
        flush=True,
    )
    print(f"Open http://{args.host}:{args.port}/  (Ctrl+C to stop; rerun to resume)", flush=True)
    session.start()
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    finally:
        session.stop()
    return 0


def curve_path(export: Path) -> Path:
    """Where the learning curve's PNG goes: beside the export, ``NAME-curve.png``."""
    return export.with_name(f"{export.stem}-curve.png")


def write_curve_png(points: list[dict[str, Any]], path: Path) -> Path | None:
    """Draw the cross-validated accuracy against the number of labels (None: no point yet)."""
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg")  # no display: a file only
    import matplotlib.pyplot as plt

    n = [point["n_labels"] for point in points]
    mean = [point["accuracy"] for point in points]
    std = [point["std"] for point in points]
    figure, axes = plt.subplots(figsize=(6, 3.6), dpi=100)
    axes.errorbar(n, mean, yerr=std, marker="o", capsize=3, color="#4a76c9")
    axes.set_xlabel("labels")
    axes.set_ylabel("cross-validated accuracy")
    axes.set_ylim(0, 1)
    axes.grid(alpha=0.3)
    axes.set_title("Learning curve (one point per retraining)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def _pair_columns(spec: str | None) -> tuple[str, str] | None:
    if spec is None:
        return None
    names = [name.strip() for name in spec.split(",")]
    if len(names) != 2 or not all(names) or names[0] == names[1]:
        raise LabellingError(
            f"--pair-columns {spec}: give two different column names, e.g. text_a,text_b."
        )
    return names[0], names[1]


def _classifier(spec: str | None) -> Any:
    if spec is None:
        return None
    from sklearn.base import is_classifier

    module, _, name = spec.rpartition(".")
    try:
        estimator = getattr(importlib.import_module(module), name)()
    except (ImportError, AttributeError, ValueError, TypeError) as error:
        raise LabellingError(
            f"--classifier {spec}: cannot create it ({error}); pass module.Class, e.g. "
            "sklearn.svm.SVC."
        ) from None
    if not is_classifier(estimator):
        raise LabellingError(f"--classifier {spec} is no scikit-learn classifier.")
    return estimator


def _default_cache() -> Path:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "activellm-modal"
