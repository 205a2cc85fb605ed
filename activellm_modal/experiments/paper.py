"""The paper's recorded SST-2 selections and its logged figures.

Source: ``shared/paper/NOTES.md`` sections 8.3 and 8.4 (the authors' logs of
run 1, mean of seeds 42, 109, 27, 158, 77, ``bert-base-uncased``). Only run 1
was logged; no log exists for runs 2-5.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from activellm_modal.llm.replay import Recording, load_recordings

#: The paper's seeds, in its log order.
PAPER_SEEDS = (42, 109, 27, 158, 77)
#: Labels per few-shot experiment.
K = 32
#: Tasks ``reproduce`` knows the logged figures of.
TASKS = ("sst2",)
#: How the paper's figures are quoted next to ours.
PAPER_SOURCE = "paper's log, run 1, bert-base-uncased"


@dataclass(frozen=True)
class LLMArm:
    """One recorded LLM as an arm of the reproduction.

    Attributes
    ----------
    name : str
        Our name for it (``--llms``).
    label : str
        How tables and plots show it.
    index_llm : str
        Its name in ``answers/INDEX.tsv``.
    folder : str
        The answers folder (``answers/sst2/<folder>/``).
    paper_run1 : float or None
        The paper's logged run-1 mean accuracy.
    """

    name: str
    label: str
    index_llm: str
    folder: str
    paper_run1: float | None


#: The recorded SST-2 32-label selections; the 100-shown variant where the paper
#: logged both (NOTES.md 8.3 picks those as the LLMs' figures).
SST2_ARMS: tuple[LLMArm, ...] = (
    LLMArm("gpt-4", "GPT-4 (200 shown)", "gpt-4", "10", 0.7314),
    LLMArm("gpt-4o", "GPT-4o (100)", "gpt-4o", "gpt_4o", 0.6631),
    LLMArm("llama-3", "Llama 3 (100)", "llama-3", "llama_3_100", 0.6571),
    LLMArm("mistral-large", "Mistral Large (100)", "mistral-large", "mistral_large_100", 0.6686),
    LLMArm("mixtral", "Mixtral (prob. 100)", "mixtral-8x7b", "mixtral_100", 0.6800),
    LLMArm("gpt-3.5", "GPT-3.5 (prob. 100)", "gpt-3.5", "gpt_35_100", 0.6115),
    LLMArm("gemini-ultra", "Gemini Ultra (100)", "gemini-ultra", "gemini_ultra_100", 0.4908),
)
#: The paper's random baseline (first 32 presented), run 1.
PAPER_RANDOM_RUN1 = 0.5603
RANDOM_LABEL = "random (first 32 shown)"


def arm_by_name(name: str) -> LLMArm:
    """The arm called ``name`` (``--llms``), with a message that lists the choices."""
    for arm in SST2_ARMS:
        if arm.name == name:
            return arm
    choices = ", ".join(arm.name for arm in SST2_ARMS)
    raise ValueError(f"unknown LLM {name!r} for --llms; choose from: {choices}.")


def check_task(task: str) -> None:
    """Reject tasks whose paper figures ``reproduce`` does not know."""
    if task not in TASKS:
        raise ValueError(
            f"unknown task {task!r}: reproduce knows the paper's logged figures for "
            f"{', '.join(TASKS)} only."
        )


def recordings_for(paper_dir: str | Path, task: str, arm: LLMArm) -> dict[int, Recording]:
    """``run -> Recording`` of one arm's 32-label answers (not the budget study)."""
    prefix = f"answers/{task}/{arm.folder}/"
    found = load_recordings(paper_dir, task=task, llm=arm.index_llm)
    return {r.run: r for r in found if r.source.startswith(prefix) and r.k == K}
