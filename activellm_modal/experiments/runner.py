"""Run a list of jobs in this process, with joblib, or on a Dask cluster.

Every backend calls ``func(job, shared)`` once per job and hands each result to
``on_result(job, result)`` in the calling process as soon as it arrives, so the
caller can write it to ``results.csv`` at once (that is what makes a run
resumable). ``shared`` holds the large read-only inputs (pool texts,
embeddings): joblib memory-maps its arrays, Dask sends it to each worker once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

J = TypeVar("J")
R = TypeVar("R")

BACKENDS = ("serial", "joblib", "dask")


def progress(total: int, desc: str, disable: bool = False, unit: str = "job") -> Any:
    """A tqdm bar on stderr (stdout stays clean for the tables)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=disable, leave=True)


def _call(func: Callable[[J, Any], R], job: J, shared: Any) -> tuple[J, R]:
    # Returning the job with its result lets unordered backends say which job finished.
    return job, func(job, shared)


def run_jobs(
    func: Callable[[J, Any], R],
    jobs: Sequence[J],
    shared: Any,
    on_result: Callable[[J, R], None],
    *,
    backend: str = "serial",
    n_jobs: int = 1,
    scheduler: str | None = None,
    desc: str = "jobs",
    quiet: bool = False,
) -> None:
    """Run ``func(job, shared)`` for every job and pass each result to ``on_result``.

    Parameters
    ----------
    func : callable
        A module-level function (workers import it by name).
    jobs : sequence
        Picklable job records.
    shared : object
        Read-only inputs common to all jobs.
    on_result : callable
        Called in this process, in completion order.
    backend : {"serial", "joblib", "dask"}
        ``serial`` runs in this process; ``joblib`` in ``n_jobs`` local worker
        processes; ``dask`` on the cluster whose scheduler is at ``scheduler``.
    n_jobs : int
        Worker processes for joblib (-1: one per core).
    scheduler : str, optional
        Dask scheduler address, e.g. ``tcp://127.0.0.1:8786``.
    desc : str
        Label of the progress bar.
    quiet : bool
        No progress bar.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r}: use one of {', '.join(BACKENDS)}.")
    if not jobs:
        return
    with progress(len(jobs), desc, disable=quiet) as bar:
        if backend == "serial" or (backend == "joblib" and n_jobs == 1):
            for job in jobs:
                on_result(*_call(func, job, shared))
                bar.update()
        elif backend == "joblib":
            from joblib import Parallel, delayed

            parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
            for job, result in parallel(delayed(_call)(func, job, shared) for job in jobs):
                on_result(job, result)
                bar.update()
        else:
            _run_dask(func, jobs, shared, on_result, scheduler, bar)


def check_scheduler(scheduler: str | None, timeout: str = "5s") -> None:
    """Fail fast, before any data is loaded, when the Dask scheduler is not reachable."""
    client = _connect(scheduler, timeout)
    client.close()


def _connect(scheduler: str | None, timeout: str = "20s") -> Any:
    if not scheduler:
        raise ValueError(
            "--backend dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786, printed by "
            "`dask scheduler`)."
        )
    try:
        from distributed import Client
    except ImportError as error:
        raise ImportError(
            "--backend dask needs dask.distributed: pip install 'dask[distributed]' "
            "(or activellm-modal[bench])."
        ) from error
    try:
        return Client(scheduler, timeout=timeout)
    except OSError as error:
        raise ValueError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None


def _run_dask(
    func: Callable[[J, Any], R],
    jobs: Sequence[J],
    shared: Any,
    on_result: Callable[[J, R], None],
    scheduler: str | None,
    bar: Any,
) -> None:
    from distributed import as_completed

    client = _connect(scheduler)
    try:
        # One copy of the shared inputs per worker instead of one per task.
        shared_future = client.scatter(shared, broadcast=True)
        futures = [client.submit(_call, func, job, shared_future, pure=False) for job in jobs]
        for future in as_completed(futures):
            job, result = future.result()
            on_result(job, result)
            bar.update()
    finally:
        client.close()
