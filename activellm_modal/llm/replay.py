"""Answering ActiveLLM from the paper's recorded LLM answers, offline.

The authors of ActiveLLM stored every prompt they pasted into GPT-4, GPT-4o,
Llama 3, Mistral Large or Mixtral, and every answer. A recorded answer is
matched to a query by the instances presented (their texts, in order), not by
the prompt's wording, so our own prompt can replay the paper's selections.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from activellm_modal.exceptions import ReplayMissError
from activellm_modal.llm.base import Completion, LLMRequest

_SEPARATOR = "\n ##### \n"
_BLOCK = re.compile(r"^(\d+)\. (.*) \[ID: (\d+)\]$", re.DOTALL)
_RECAP = "\n\nThe following instances have already been labeled"


def _normalise(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Recording:
    """One recorded query: what was shown and what the LLM answered.

    Attributes
    ----------
    task, llm : str
        Dataset and model, as in the paper's ``INDEX.tsv``.
    run : int
        The pool draw (1-5) the prompt belongs to.
    k : int
        How many instances were asked for.
    ids : tuple of int
        Dataset row ids of the presented instances, in presentation order.
    texts : tuple of str
        Their texts as shown (pairs as the paper rendered them).
    answer : str
        The LLM's raw answer.
    source : str
        The answer file, relative to the paper folder.
    """

    task: str
    llm: str
    run: int
    k: int
    ids: tuple[int, ...]
    texts: tuple[str, ...]
    answer: str
    source: str


def read_prompt_blocks(path: str | Path, n: int | None = None) -> list[tuple[int, str, int]]:
    """``(position, text, id)`` of the first ``n`` instance blocks of a stored prompt."""
    content = Path(path).read_text(encoding="utf-8")
    content = content.split(_RECAP, 1)[0]
    blocks = []
    for raw in content.split(_SEPARATOR)[1:]:
        match = _BLOCK.match(raw)
        if match is None:
            continue  # header remnants of text-recap prompts carry no number
        blocks.append((int(match.group(1)), match.group(2), int(match.group(3))))
        if n is not None and len(blocks) == n:
            break
    return blocks


def load_recordings(
    paper_dir: str | Path, task: str | None = None, llm: str | None = None
) -> list[Recording]:
    """The single-turn recordings listed in ``paper_dir/answers/INDEX.tsv``.

    Parameters
    ----------
    paper_dir : str or Path
        The folder holding ``answers/`` and ``prompts/`` (``shared/paper``).
    task, llm : str, optional
        Keep only this dataset (e.g. ``"sst2"``) / model (e.g. ``"gpt-4"``).
    """
    paper_dir = Path(paper_dir)
    index = paper_dir / "answers" / "INDEX.tsv"
    if not index.is_file():
        raise FileNotFoundError(
            f"No recorded answers at {index}: point paper_dir at the folder that holds "
            "answers/INDEX.tsv and prompts/ (shared/paper)."
        )
    recordings = []
    with index.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if (task and row["task"] != task) or (llm and row["llm"] != llm):
                continue
            blocks = read_prompt_blocks(paper_dir / row["prompt_path"], int(row["n_presented"]))
            run = re.search(r"_(\d+)\.txt$", row["answer_path"])
            recordings.append(
                Recording(
                    task=row["task"],
                    llm=row["llm"],
                    run=int(run.group(1)) if run else 1,
                    k=int(row["k"]),
                    ids=tuple(block[2] for block in blocks),
                    texts=tuple(block[1] for block in blocks),
                    answer=(paper_dir / row["answer_path"]).read_text(encoding="utf-8"),
                    source=row["answer_path"],
                )
            )
    return recordings


class ReplayBackend:
    """A backend that answers with recorded answers instead of calling an LLM.

    Parameters
    ----------
    recordings : iterable of Recording
        The answers to replay. Two recordings that showed the same instances
        cannot both be replayed: filter by ``llm`` first.

    Examples
    --------
    >>> rec = Recording("toy", "gpt-4", 1, 1, (7, 9), ("good", "bad"), "I pick 1", "toy")
    >>> backend = ReplayBackend([rec])
    >>> backend.complete(LLMRequest(messages=[], instances=("good", "bad"))).text
    'I pick 1'
    """

    def __init__(self, recordings: Iterable[Recording]) -> None:
        self.recordings = list(recordings)
        self._by_instances: dict[tuple[str, ...], Recording] = {}
        for recording in self.recordings:
            key = tuple(_normalise(text) for text in recording.texts)
            other = self._by_instances.get(key)
            if other is not None and other.answer != recording.answer:
                raise ValueError(
                    f"{recording.source} and {other.source} showed the same instances with "
                    "different answers; keep one LLM per backend (load_recordings(llm=...))."
                )
            self._by_instances[key] = recording
        self.model = "replay:" + ",".join(sorted({r.llm for r in self.recordings}))

    def complete(self, request: LLMRequest) -> Completion:
        """The recorded answer for exactly these presented instances."""
        key = tuple(_normalise(text) for text in request.instances)
        recording = self._by_instances.get(key)
        if recording is None:
            raise ReplayMissError(
                f"No recording showed these {len(key)} instances. Replay needs the paper's "
                "presentation: use recorded_sampler(recording, ...) so the strategy shows "
                "the recorded instances in their recorded order."
            )
        return Completion(recording.answer, model=recording.llm, cached=True)


def recorded_sampler(rows: Iterable[int]):
    """A sampler that presents fixed pool rows in a fixed order (for replay).

    Examples
    --------
    >>> import numpy as np
    >>> recorded_sampler([5, 2, 9])(10, 2, np.random.default_rng()).tolist()
    [5, 2]
    """
    import numpy as np

    fixed = np.asarray(list(rows), dtype=np.intp)

    def sampler(n_pool: int, size: int, rng: object) -> np.ndarray:
        if fixed.size and fixed.max() >= n_pool:
            raise ReplayMissError(
                f"The recording shows pool row {int(fixed.max())}, but the pool has {n_pool} "
                "rows: replay needs the full dataset the recording was drawn from."
            )
        return fixed[:size]

    return sampler
