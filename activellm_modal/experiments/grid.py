"""Command-line lists and the records that name one unit of work (a *job*)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


def parse_int_list(text: str, *, name: str = "list", minimum: int | None = None) -> list[int]:
    """``"1,2,3"`` or ``"1-5"`` (or a mix) as a list of distinct ints, in order.

    Raises
    ------
    ValueError
        With a message that shows the expected form.

    Examples
    --------
    >>> parse_int_list("42, 109,27")
    [42, 109, 27]
    >>> parse_int_list("1-3,5")
    [1, 2, 3, 5]
    >>> parse_int_list("1,x", name="--seeds")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: --seeds: 'x' is not an integer; expected ...
    """
    values: list[int] = []
    parts = [part.strip() for part in str(text).split(",")]
    if not any(parts):
        raise ValueError(f"{name}: empty; expected comma-separated integers such as 1,2,3.")
    for part in parts:
        if not part:
            continue
        bounds = part.split("-", 1) if "-" in part[1:] else [part]
        try:
            numbers = [int(bound) for bound in bounds]
        except ValueError:
            raise ValueError(
                f"{name}: {part!r} is not an integer; expected comma-separated integers such "
                "as 1,2,3 or a range 1-5."
            ) from None
        span = range(numbers[0], numbers[-1] + 1) if len(numbers) == 2 else numbers
        if len(numbers) == 2 and not span:
            raise ValueError(f"{name}: the range {part!r} is empty.")
        for value in span:
            if minimum is not None and value < minimum:
                raise ValueError(f"{name}: {value} is below the minimum {minimum}.")
            if value not in values:
                values.append(value)
    return values


def parse_name_list(text: str) -> list[str]:
    """``"gpt-4, gpt-4o"`` as ``["gpt-4", "gpt-4o"]`` (blank items dropped)."""
    return [part.strip() for part in str(text).split(",") if part.strip()]


@dataclass(frozen=True)
class ReproduceJob:
    """One fine-tuning of the reproduction: a strategy's 32 picks of one run, one seed.

    ``llm`` is empty for the random baseline.
    """

    strategy: str
    llm: str
    run: int
    seed: int

    def key(self) -> tuple[str, ...]:
        """The job's identity in ``results.csv``."""
        return (self.strategy, self.llm, str(self.run), str(self.seed))


@dataclass(frozen=True)
class BenchmarkJob:
    """One learning curve of the benchmark: a strategy on one pool draw, one seed."""

    strategy: str
    run: int
    seed: int

    def key(self) -> tuple[str, ...]:
        """The job's identity in ``results.csv``."""
        return (self.strategy, str(self.run), str(self.seed))

    def as_dict(self) -> dict[str, object]:
        """The job's fields, to start a result row."""
        return asdict(self)
