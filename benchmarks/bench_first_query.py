"""ActiveLLM's first query on a big pool, cold and warm, per encoder, side by side.

The default preset embeds a seeded 2,000-text subsample of the pool on its first
query; this prints what that costs with each encoder, on the same pool (SST-2's
training split) and the same offline LLM (it names the first k positions), as
wall and CPU seconds and as ratios to MiniLM, measured in one run:

* cold: a fresh process (model loaded, nothing cached), one query;
* warm: the same query again in the same process (a new strategy with the same
  seed: the subsample's embeddings are cached; later queries of one strategy draw a
  new subsample and embed only the texts not seen before).

Usage::

    python benchmarks/bench_first_query.py [--encoders minilm,mpnet] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, os, sys, time
import numpy as np
from activellm_modal import ActiveLLM
from activellm_modal.data import default_shared_dir, read_split
from activellm_modal.llm import Completion

class FirstK:
    # An offline LLM with position bias: names the first k positions shown.
    def complete(self, request):
        k = request.k or 32
        return Completion(text=", ".join(str(i) for i in range(1, k + 1)))

pool = read_split(default_shared_dir() / "datasets", "sst2", "train")["text"].to_numpy(dtype=object)
out = {}
for phase in ("cold", "warm"):
    # warm: a new strategy, same seed, same subsample; its embeddings are in memory now.
    strategy = ActiveLLM(backend=FirstK(), random_state=0)
    wall, cpu = time.perf_counter(), time.process_time()
    strategy(None, pool, n_instances=32)
    out[phase] = (time.perf_counter() - wall, time.process_time() - cpu)
print(json.dumps(out))
"""


PHASES = ("cold", "warm")


def run_once(encoder: str) -> dict[str, tuple[float, float]]:
    env = {**os.environ, "ACTIVELLM_ENCODER": encoder, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default="minilm,mpnet")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved runs per encoder")
    args = parser.parse_args()
    encoders = args.encoders.split(",")
    runs: dict[str, list[dict]] = {e: [] for e in encoders}
    for _ in range(args.rounds):  # interleaved: a noisy machine slows every encoder alike
        for encoder in encoders:
            runs[encoder].append(run_once(encoder))
    base = encoders[0]
    print(
        f"| encoder | cold wall s | cold CPU s | warm wall s | warm CPU s | cold ratio to {base} |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    med = {
        e: {
            p: [statistics.median(r[p][i] for r in runs[e]) for i in (0, 1)]
            for p in ("cold", "warm")
        }
        for e in encoders
    }
    for e in encoders:
        (cw, cc), (ww, wc) = med[e]["cold"], med[e]["warm"]
        ratio = cw / med[base]["cold"][0]
        print(f"| {e} | {cw:.1f} | {cc:.1f} | {ww:.2f} | {wc:.2f} | {ratio:.2f} |")
    print(f"\nmedian of {args.rounds} interleaved fresh processes each")
    print("ceilings: cold <= 90 s, warm <= 2 s")


if __name__ == "__main__":
    main()
