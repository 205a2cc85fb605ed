"""The ``activellm-modal`` command line (also ``python -m activellm_modal``).

Subcommands: ``demo`` (GPT-4's recorded picks vs random, frozen embeddings),
``reproduce`` (the paper's SST-2 experiment with fine-tuning), ``benchmark``
(ActiveLLM against classic strategies over several rounds), ``evaluate``
(selections against random subsets of the same presented texts) and ``label``
(a labelling page: a human labels what the strategy picks). User errors (a
missing folder, an unknown task, a malformed list) end with one line on stderr
and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from activellm_modal.data import SHARED_ENV, default_shared_dir
from activellm_modal.exceptions import ActiveLLMError

EXIT_USAGE = 2
#: ``reproduce --classifier`` choices; the main job (``--quick``) trains QUICK_CLASSIFIER.
REPRODUCE_CLASSIFIERS = ("bert-paper", "bert", "setfit", "embed")
QUICK_CLASSIFIER = "bert"


def _int_list(name: str, minimum: int | None = None) -> Callable[[str], list[int]]:
    from activellm_modal.experiments.grid import parse_int_list

    def parse(text: str) -> list[int]:
        try:
            return parse_int_list(text, name=name, minimum=minimum)
        except ValueError as error:
            # argparse prints this after the usage line and exits with status 2.
            raise argparse.ArgumentTypeError(str(error).removeprefix(f"{name}: ")) from None

    parse.__name__ = "list of integers"
    return parse


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--model (fine-tuned) and --encoder (frozen), as evaluate and benchmark take them."""
    parser.add_argument("--model", help="fine-tuning model (default: offline all-MiniLM-L6-v2)")
    parser.add_argument(
        "--encoder",
        default="default",
        help="frozen encoder of the embedding classifier: default (all-mpnet-base-v2, or "
        "$ACTIVELLM_ENCODER), mpnet, minilm, or a local folder",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _names(text: str) -> list[str]:
    from activellm_modal.experiments.grid import parse_name_list

    names = parse_name_list(text)
    if not names:
        raise argparse.ArgumentTypeError("empty list")
    return names


def _add_shared_dirs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        help=f"folder with <task>/train.tsv and test.tsv (default: ${SHARED_ENV}/datasets "
        "or ../shared/datasets)",
    )
    parser.add_argument(
        "--paper-dir",
        type=Path,
        help="folder with the paper's answers/ and prompts/ (default: the shared paper/)",
    )


def _add_reproduce(commands: argparse._SubParsersAction) -> None:
    from activellm_modal.experiments.paper import PAPER_SEEDS, SST2_ARMS

    parser = commands.add_parser(
        "reproduce",
        help="the paper's SST-2 experiment: 32 labels, recorded LLM picks vs random, fine-tuned",
        description="Fine-tune on the paper's recorded 32-label SST-2 selections (replayed, no "
        "LLM called) and on the random baseline, per run and seed; write results.csv, "
        "RESULTS.md (beside the paper's logged figures) and a plot. Resumable: jobs already "
        "in results.csv are skipped.",
    )
    parser.add_argument("--task", default="sst2", help="dataset (default: sst2)")
    parser.add_argument(
        "--runs", type=_int_list("--runs", 1), help="recorded pool draws (default: 1,2,3,4,5)"
    )
    parser.add_argument(
        "--seeds",
        type=_int_list("--seeds", 0),
        help=f"training seeds (default: {','.join(map(str, PAPER_SEEDS))}, the paper's)",
    )
    parser.add_argument(
        "--llms",
        type=_names,
        help=f"recorded LLMs (default: all: {','.join(a.name for a in SST2_ARMS)}); "
        "only gpt-4 has runs 2-5",
    )
    parser.add_argument(
        "--model",
        help="model to fine-tune: local folder or hub name (default: the offline all-MiniLM-L6-v2)",
    )
    parser.add_argument(
        "--encoder",
        default="default",
        help="also score every selection with this frozen encoder + LR, a column beside the "
        "fine-tuned model (default: all-mpnet-base-v2, or $ACTIVELLM_ENCODER; none: skip)",
    )
    _add_shared_dirs(parser)
    parser.add_argument(
        "--out", type=Path, help="output folder (default: ./results/reproduce[-quick])"
    )
    parser.add_argument(
        "--classifier",
        choices=REPRODUCE_CLASSIFIERS,
        help="bert-paper: BertClassifier with the paper's recipe (default of the full grid, "
        "beside the paper's figures); bert: BertClassifier's few-label defaults; setfit: "
        "SetFitClassifier; embed: frozen embeddings + logistic regression (default of "
        f"--quick: {QUICK_CLASSIFIER})",
    )
    parser.add_argument(
        "--epochs",
        type=_positive_int,
        help="BertClassifier epochs (default: bert-paper 25, the paper's; bert: its own)",
    )
    parser.add_argument(
        "--max-length", type=_positive_int, help="tokens per text (default: 128; --quick: 64)"
    )
    parser.add_argument(
        "--test-size",
        type=_positive_int,
        help="score on the first N test sentences only (smoke tests; default: all)",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="parallel fine-tunings (joblib; default: 1)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"GPT-4 vs random, runs 1-5, seed 42, max_length 64, --classifier "
        f"{QUICK_CLASSIFIER} (10 fits)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_benchmark(commands: argparse._SubParsersAction) -> None:
    from activellm_modal.experiments.strategies import STRATEGIES

    parser = commands.add_parser(
        "benchmark",
        help="ActiveLLM vs random, uncertainty, margin, entropy, ranked batch, k-means",
        description="Learning curves over several rounds on any task of --data-dir (default "
        "SST-2, one pool draw per recorded GPT-4 run) or your own --train/--test files; "
        "writes results.csv, RESULTS.md (area under the learning curve, time per round) and "
        "learning_curves.png. Resumable: finished curves are skipped.",
    )
    parser.add_argument(
        "--strategies",
        type=_names,
        help=f"arms (default: all available of {','.join(STRATEGIES)})",
    )
    parser.add_argument("--runs", type=_int_list("--runs", 1), help="pool draws (default: 1-5)")
    parser.add_argument("--seeds", type=_int_list("--seeds", 0), help="seeds (default: 42,109,27)")
    parser.add_argument("--rounds", type=_positive_int, default=5, help="query rounds (default: 5)")
    parser.add_argument(
        "--batch-size", type=_positive_int, default=32, help="labels per round (default: 32)"
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=5000,
        help="unlabelled rows besides the recorded 201 per run (default: 5000; 0: all of train)",
    )
    parser.add_argument(
        "--classifier",
        choices=("embed", "bert", "setfit"),
        default="embed",
        help="embed: frozen --encoder embeddings (computed once) + logistic regression; "
        "bert: fine-tune BertClassifier each round; setfit: SetFitClassifier each round (slow)",
    )
    _add_model_arguments(parser)
    parser.add_argument(
        "--epochs", type=_positive_int, help="bert epochs (default: BertClassifier's own)"
    )
    parser.add_argument(
        "--max-length", type=_positive_int, default=64, help="tokens per text (default: 64)"
    )
    parser.add_argument(
        "--base-url", help="live OpenAI-compatible endpoint for the ActiveLLM arm (default: replay)"
    )
    parser.add_argument("--model-name", help="model name on --base-url")
    parser.add_argument("--test-size", type=_positive_int, help="score on the first N test rows")
    _add_shared_dirs(parser)
    parser.add_argument("--out", type=Path, default=Path("results/benchmark"), help="output folder")
    parser.add_argument(
        "--backend", choices=("joblib", "dask"), default="joblib", help="where runs execute"
    )
    parser.add_argument("--jobs", type=int, default=2, help="joblib workers (default: 2)")
    parser.add_argument("--scheduler", help="Dask scheduler address (with --backend dask)")
    parser.add_argument(
        "--task",
        default="sst2",
        help="any classification folder of --data-dir, pair tasks included (default: sst2)",
    )
    _add_data_files(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_data_files(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train", type=Path, help="your own labelled pool (CSV/TSV/JSONL/Parquet)")
    parser.add_argument("--test", type=Path, help="your own labelled dev/test set (same format)")
    parser.add_argument("--text-column", default="text", help="text column (default: text)")
    parser.add_argument("--pair-column", help="second text of a sentence pair (default: none)")
    parser.add_argument("--label-column", default="label", help="label column (default: label)")


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "evaluate",
        help="is a selection better than random k of the same presented texts?",
        description="Score selections against R random k-subsets of the same presented set "
        "(percentile), with first-k and typicality (k-means) baselines. Without --base-url: "
        "every recorded selection of the paper whose task is in --data-dir. With --base-url "
        "and --model-name: live queries (presets, see --presets) on --task or on your own "
        "--train/--test files. Writes results.csv (resumable), RESULTS.md and a PNG per task.",
    )
    parser.add_argument("--tasks", type=_names, help="recorded tasks (default: all that map)")
    parser.add_argument("--llms", type=_names, help="recorded LLMs (default: all)")
    parser.add_argument(
        "--k", type=_int_list("--k", 1), default=[32], help="recorded budgets (default: 32)"
    )
    parser.add_argument(
        "--random-subsets",
        type=_positive_int,
        help="random k-subsets per selection (default: 200; bert: 20)",
    )
    parser.add_argument(
        "--classifier",
        choices=("lr", "bert"),
        default="lr",
        help="lr: frozen --encoder embeddings + LogisticRegression(C=10) (default); "
        "bert: fine-tune --model (slow; fewer random subsets)",
    )
    _add_model_arguments(parser)
    parser.add_argument("--epochs", type=_positive_int, default=25, help="bert epochs")
    parser.add_argument("--seed", type=int, default=0, help="seed of everything (default: 0)")
    parser.add_argument("--base-url", help="live OpenAI-compatible endpoint")
    parser.add_argument("--model-name", help="model name on --base-url")
    parser.add_argument("--task", help="dataset for the live mode (a folder of --data-dir)")
    _add_data_files(parser)
    parser.add_argument(
        "--presets",
        type=_names,
        default=["paper", "coverage"],
        help="live mode: ActiveLLM presets to compare (default: paper,coverage)",
    )
    parser.add_argument("--repeats", type=_positive_int, default=1, help="live queries per preset")
    parser.add_argument("--budget", type=_positive_int, default=32, help="live mode: k")
    parser.add_argument("--n-presented", type=_positive_int, help="live mode: texts shown")
    _add_shared_dirs(parser)
    parser.add_argument("--out", type=Path, default=Path("results/evaluate"), help="output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="activellm-modal",
        description="ActiveLLM: an LLM chooses the first texts to label (modAL strategy).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="offline demo: GPT-4's recorded SST-2 picks vs random, in a modAL loop"
    )
    demo.add_argument(
        "--shared-dir",
        type=Path,
        default=None,
        help=f"folder with datasets/ and paper/ (default: ${SHARED_ENV} or ../shared)",
    )
    _add_reproduce(commands)
    _add_benchmark(commands)
    _add_label(commands)
    _add_evaluate(commands)
    return parser


def _add_label(commands: argparse._SubParsersAction) -> None:
    from activellm_modal.labelling.command import add_arguments

    add_arguments(
        commands.add_parser(
            "label",
            help="a labelling page on 127.0.0.1: you label what the strategy picks",
            description="Serve a local labelling page: the strategy picks a batch, you label it "
            "by click or key (1-9, s skip, u undo), every label is saved in SQLite at once, the "
            "classifier retrains after each batch. Rerun with the same --db to resume.",
        )
    )


def _shared_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    shared = default_shared_dir()
    data_dir = args.data_dir or shared / "datasets"
    paper_dir = args.paper_dir or shared / "paper"
    for flag, path in (("--data-dir", data_dir), ("--paper-dir", paper_dir)):
        if not Path(path).is_dir():
            raise FileNotFoundError(
                f"{flag} {path} does not exist: pass the folder, or set {SHARED_ENV} to the "
                "shared folder that holds datasets/ and paper/."
            )
    return Path(data_dir), Path(paper_dir)


def _model(name: str | None) -> str:
    if name is None:
        from activellm_modal.embeddings import default_model_path

        return default_model_path()
    path = Path(name).expanduser()
    if path.exists():
        return str(path)
    if name.startswith((".", "/", "~")):
        raise FileNotFoundError(f"--model {name}: no such folder.")
    return name  # a hub name such as bert-base-uncased (needs the hub or its cache)


def _reproduce(args: argparse.Namespace) -> int:
    from activellm_modal.experiments.paper import PAPER_SEEDS, SST2_ARMS
    from activellm_modal.experiments.reproduce import ReproduceConfig
    from activellm_modal.experiments.reproduce import main as reproduce_main

    data_dir, paper_dir = _shared_paths(args)
    quick = args.quick
    config = ReproduceConfig(
        data_dir=data_dir,
        paper_dir=paper_dir,
        out=args.out or Path("results/reproduce-quick" if quick else "results/reproduce"),
        model=_model(args.model),
        task=args.task,
        runs=args.runs or [1, 2, 3, 4, 5],
        seeds=args.seeds or ([42] if quick else list(PAPER_SEEDS)),
        llms=args.llms or (["gpt-4"] if quick else [arm.name for arm in SST2_ARMS]),
        classifier=args.classifier or (QUICK_CLASSIFIER if quick else "bert-paper"),
        epochs=args.epochs,
        max_length=args.max_length or (64 if quick else 128),
        test_size=args.test_size,
        n_jobs=args.jobs,
        quiet=args.quiet,
        encoder=None if args.encoder == "none" else args.encoder,
    )
    return reproduce_main(config)


def _benchmark(args: argparse.Namespace) -> int:
    from activellm_modal.experiments.benchmark import BenchmarkConfig
    from activellm_modal.experiments.benchmark import main as benchmark_main

    data_dir, paper_dir = _shared_paths(args)
    if args.backend == "dask" and not args.scheduler:
        raise ValueError("--backend dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786).")
    if bool(args.base_url) != bool(args.model_name):
        raise ValueError("a live ActiveLLM arm needs both --base-url and --model-name.")
    config = BenchmarkConfig(
        data_dir=data_dir,
        paper_dir=paper_dir,
        out=args.out,
        model=_model(args.model),
        encoder=args.encoder,
        strategies=args.strategies,
        runs=args.runs or [1, 2, 3, 4, 5],
        seeds=args.seeds or [42, 109, 27],
        rounds=args.rounds,
        batch_size=args.batch_size,
        pool_size=args.pool_size,
        classifier=args.classifier,
        epochs=args.epochs,
        max_length=args.max_length,
        base_url=args.base_url,
        model_name=args.model_name,
        test_size=args.test_size,
        backend=args.backend,
        n_jobs=args.jobs,
        scheduler=args.scheduler,
        quiet=args.quiet,
        task=args.task,
        train=args.train,
        test=args.test,
        text_column=args.text_column,
        pair_column=args.pair_column,
        label_column=args.label_column,
    )
    return benchmark_main(config)


def _evaluate(args: argparse.Namespace) -> int:
    import os

    from activellm_modal.experiments.evaluate import EvaluateConfig
    from activellm_modal.experiments.evaluate import main as evaluate_main

    data_dir, paper_dir = _shared_paths(args)
    if bool(args.base_url) != bool(args.model_name):
        raise ValueError("the live mode needs both --base-url and --model-name.")
    if (args.train or args.test) and not args.base_url:
        raise ValueError(
            "--train/--test are scored with live queries: add --base-url and --model-name "
            "(the recordings only cover the paper's tasks)."
        )
    config = EvaluateConfig(
        data_dir=data_dir,
        paper_dir=paper_dir,
        out=args.out,
        model=_model(args.model),
        encoder=args.encoder,
        tasks=args.tasks,
        llms=args.llms,
        ks=args.k,
        n_random=args.random_subsets,
        classifier=args.classifier,
        seed=args.seed,
        epochs=args.epochs,
        base_url=args.base_url,
        model_name=args.model_name,
        api_key=os.environ.get("OPENAI_API_KEY"),
        task=args.task,
        train=args.train,
        test=args.test,
        text_column=args.text_column,
        pair_column=args.pair_column,
        label_column=args.label_column,
        presets=args.presets,
        repeats=args.repeats,
        k=args.budget,
        n_presented=args.n_presented,
        quiet=args.quiet,
    )
    return evaluate_main(config)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for user errors)."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            from activellm_modal.demo import main as demo_main

            return demo_main(args.shared_dir or default_shared_dir())
        if args.command == "reproduce":
            return _reproduce(args)
        if args.command == "benchmark":
            return _benchmark(args)
        if args.command == "label":
            from activellm_modal.labelling.command import run as label_main

            return label_main(args)
        if args.command == "evaluate":
            return _evaluate(args)
    except (FileNotFoundError, ValueError, ImportError, ActiveLLMError) as error:
        print(f"activellm-modal: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(
            "activellm-modal: interrupted; finished jobs are saved, rerun to resume.",
            file=sys.stderr,
        )
        return 130
    return 1
