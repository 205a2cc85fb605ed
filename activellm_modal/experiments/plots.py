"""PNG figures of both experiments (matplotlib's Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def _pyplot():
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError(
            "plots need matplotlib: pip install matplotlib (or activellm-modal[bench])."
        ) from error
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_reproduce(
    frame: pd.DataFrame, groups: list[tuple[str, float | None, pd.DataFrame]], path: Path
) -> Path:
    """One column per strategy: a dot per run (its seed mean), the seeds as bars, the paper's mark.

    Runs are shown one by one because the recorded draws differ widely; a mean alone
    would hide that.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(7.0, 1.3 * len(groups) + 3.5), 4.5))
    runs = sorted(frame["run"].unique())
    colours = plt.get_cmap("tab10")
    for x, (_, paper, rows) in enumerate(groups):
        for offset, run in enumerate(runs):
            acc = rows.loc[rows["run"] == run, "accuracy"].to_numpy()
            if acc.size == 0:
                continue
            dx = x + (offset - (len(runs) - 1) / 2) * 0.08
            ax.vlines(dx, acc.min(), acc.max(), color=colours(offset), alpha=0.5)
            label = f"run {run}" if x == 0 else None
            ax.plot(dx, acc.mean(), "o", color=colours(offset), label=label)
        if paper is not None:
            label = "paper, run 1 (BERT-base)" if x == 0 else None
            ax.plot(x, paper, "k*", markersize=11, label=label)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([label for label, _, _ in groups], rotation=25, ha="right", fontsize=8)
    ax.set_ylabel("test accuracy")
    ax.set_title("SST-2, 32 labels, per run: dot = mean over seeds, bar = seed range", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    seen = dict(zip(labels, handles, strict=True))
    ax.legend(seen.values(), seen.keys(), fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_learning_curves(frame: pd.DataFrame, path: Path) -> Path:
    """Accuracy against labels per strategy: mean over runs and seeds, ± one sd shaded."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.0, 4.5))
    from activellm_modal.experiments.strategies import STRATEGIES

    present = set(frame["strategy"])
    for strategy in [name for name in STRATEGIES if name in present]:
        rows = frame[frame["strategy"] == strategy]
        curve = rows.groupby("n_labelled")["accuracy"].agg(["mean", "std"]).fillna(0.0)
        x = curve.index.to_numpy()
        ax.plot(x, curve["mean"], marker="o", markersize=3, label=strategy)
        ax.fill_between(x, curve["mean"] - curve["std"], curve["mean"] + curve["std"], alpha=0.15)
    ax.set_xlabel("labelled instances")
    ax.set_ylabel("test accuracy")
    n = frame.groupby(["run", "seed"]).ngroups
    ax.set_title(f"Learning curves (mean ± sd over {n} run × seed)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_xlim(left=float(np.min(frame["n_labelled"])))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
