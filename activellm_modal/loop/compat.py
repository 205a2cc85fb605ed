"""In-memory fixes that let modAL 0.4.2.1 run on today's scikit-learn, numpy and pandas.

modAL's last release predates three removals in its dependencies, and has a few bugs
with pandas input. :func:`patch_modal` repairs them *in memory*, only inside modAL's own
modules, and only where a probe shows that the running stack actually needs the fix:

========  ==========================================================================
code      what breaks and what the fix does
========  ==========================================================================
``A``     scikit-learn 1.8 removed ``check_X_y(force_all_finite=...)``, so
          ``ActiveLearner.teach`` / ``fit`` / ``Committee.teach`` raise ``TypeError``.
          The name ``check_X_y`` inside :mod:`modAL.models.learners` is rebound to a
          wrapper that passes the value on as ``ensure_all_finite``.
``B``     numpy 1.24 removed ``np.float``; :mod:`modAL.expected_error` uses it in a
          signature, so importing it raises ``AttributeError``. The module is loaded
          from its own source with ``np.float`` rewritten to ``float`` (and its
          ``loss is 'binary'`` comparisons to ``==``); numpy itself is left alone.
``C``     pandas 2.0 removed ``DataFrame.append``, used by ``modAL.utils.data.data_vstack``,
          so teaching a DataFrame raises ``AttributeError``. ``data_vstack`` is replaced
          (in every modAL module that bound it) by one that uses ``pd.concat`` for
          DataFrames and Series, and keeps modAL's behaviour for every other type.
``D``     modAL bug: ranked batch sampling (``modAL.batch``) calls ``.reshape`` on the
          pool, so a DataFrame pool raises ``AttributeError``. The two helpers that
          compute distances get DataFrames/Series as numpy arrays.
``E``     modAL bugs with pandas rows: ``retrieve_rows`` indexes DataFrames/Series by
          label or by column (a DataFrame with integer column names silently returns
          *columns*), ``drop_rows`` and ``enumerate_data`` use labels where
          ``expected_error_reduction`` needs positions, ``data_hstack`` forgets to
          return DataFrames. They are replaced by positional (``iloc``) versions.
========  ==========================================================================

Nothing on disk changes, numpy and pandas are not monkey-patched, and
:func:`unpatch_modal` puts every original object back.

The package's strategies and classifiers call :func:`auto_patch` on first use, so a
modAL user who never heard of this module does not meet ``TypeError: ...
force_all_finite`` at the first ``teach``. It logs (once, at INFO level) what it
applied. To opt out, set the environment variable ``ACTIVELLM_AUTO_PATCH=0`` or
``activellm_modal.loop.compat.AUTO_PATCH = False`` before the first query.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.abc
import importlib.util
import inspect
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = [
    "AUTO_PATCH",
    "applied_patches",
    "auto_patch",
    "needed_patches",
    "patch_modal",
    "patched_modal",
    "unpatch_modal",
]

logger = logging.getLogger(__name__)

# modAL modules that may bind the names we replace. Importing them up front means the
# scan below sees every binding; ``modAL.dropout`` (imports torch, slow, binds none of
# the names) and ``modAL.cluster`` (its import is broken upstream) are left out.
_MODAL_MODULES = (
    "modAL.utils.data",
    "modAL.utils",
    "modAL.models.base",
    "modAL.models.learners",
    "modAL.models",
    "modAL.uncertainty",
    "modAL.disagreement",
    "modAL.density",
    "modAL.acquisition",
    "modAL.batch",
    "modAL.multilabel",
    "modAL",
)
_EXPECTED_ERROR = "modAL.expected_error"

# Aliases numpy 1.24 removed; each one meant the builtin of the same name.
_REMOVED_NUMPY_ALIASES = ("bool", "complex", "float", "int", "object", "str")

_UNSET: Any = object()


@dataclass
class _Binding:
    """One name in one module that a patch rebound."""

    module: str
    name: str
    original: Any
    replacement: Any


@dataclass
class _Applied:
    """What one patch changed, so that :func:`unpatch_modal` can undo exactly that."""

    code: str
    description: str
    bindings: list[_Binding] = field(default_factory=list)
    loaded_module: ModuleType | None = None


_LOCK = threading.RLock()
_APPLIED: dict[str, _Applied] = {}


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def _import_modal() -> None:
    for name in _MODAL_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:  # pragma: no cover - a trimmed modAL install
            logger.debug("could not import %s; its bindings are not patched", name)


def _modal_modules() -> list[ModuleType]:
    return [
        module
        for name, module in list(sys.modules.items())
        if isinstance(module, ModuleType) and (name == "modAL" or name.startswith("modAL."))
    ]


def _rebind(original: Any, replacement: Any, name: str) -> list[_Binding]:
    """Point every modAL module's ``name`` that holds ``original`` at ``replacement``.

    modAL imports helpers by name (``from modAL.utils.data import data_vstack``), so
    patching only the defining module would leave stale copies in its importers.
    """
    bindings = []
    for module in _modal_modules():
        if module.__dict__.get(name) is original:
            setattr(module, name, replacement)
            bindings.append(_Binding(module.__name__, name, original, replacement))
    return bindings


def _is_pandas(X: Any) -> bool:
    return isinstance(X, (pd.DataFrame, pd.Series))


def _to_numpy(X: Any) -> Any:
    return X.to_numpy() if _is_pandas(X) else X


def _raises(func: Callable[[], Any], *errors: type[BaseException]) -> bool:
    try:
        func()
    except errors:
        return True
    return False


# ---------------------------------------------------------------------------------------
# A: check_X_y(force_all_finite=...)
# ---------------------------------------------------------------------------------------


def _make_check_X_y(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def check_X_y(X: Any, y: Any, *args: Any, force_all_finite: Any = _UNSET, **kwargs: Any) -> Any:
        if force_all_finite is not _UNSET:
            kwargs.setdefault("ensure_all_finite", force_all_finite)
        return original(X, y, *args, **kwargs)

    check_X_y._activellm_compat = True  # type: ignore[attr-defined]
    return check_X_y


def _needs_a() -> bool:
    from modAL.models import learners

    if getattr(learners.check_X_y, "_activellm_compat", False):
        return False
    # Run the very code path that fails (ActiveLearner._add_training_data) on a stand-in
    # learner: this detects the problem however modAL or scikit-learn change later.
    fake = SimpleNamespace(force_all_finite=True, X_training=None, y_training=None)
    try:
        learners.ActiveLearner._add_training_data(fake, np.zeros((2, 1)), np.zeros(2))
    except TypeError as exc:
        return "force_all_finite" in str(exc)
    except Exception:  # pragma: no cover - internals changed; fall back to the signature
        params = inspect.signature(learners.check_X_y).parameters
        return "force_all_finite" not in params and not any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
        )
    return False


def _apply_a() -> _Applied:
    import sklearn
    from modAL.models import learners

    original = learners.check_X_y
    replacement = _make_check_X_y(original)
    return _Applied(
        "A",
        "A: modAL's check_X_y(force_all_finite=...) now passes ensure_all_finite "
        f"(scikit-learn {sklearn.__version__} removed force_all_finite)",
        _rebind(original, replacement, "check_X_y"),
    )


# ---------------------------------------------------------------------------------------
# B: np.float in modAL.expected_error
# ---------------------------------------------------------------------------------------
#
# Why a rewritten module rather than ``np.float = float``: that assignment is global. It
# would reach every library in the process, hide real bugs elsewhere, and break feature
# detection such as ``hasattr(np, "float")`` (our own probe included). A proxy ``np``
# in the module's namespace does not work either, because the module's own
# ``import numpy as np`` rebinds the name while it runs. Rewriting the one annotation in
# the syntax tree touches nothing but this module, keeps file names and line numbers for
# tracebacks, and never writes bytecode to disk.


class _NumpyAliasFixer(ast.NodeTransformer):
    def __init__(self, numpy_names: set[str], aliases: set[str]) -> None:
        self.numpy_names = numpy_names
        self.aliases = aliases
        self.changes = 0

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if (
            isinstance(node.value, ast.Name)
            and node.value.id in self.numpy_names
            and node.attr in self.aliases
        ):
            self.changes += 1
            return ast.copy_location(ast.Name(id=node.attr, ctx=node.ctx), node)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        # ``loss is 'binary'`` only works because CPython interns short strings.
        self.generic_visit(node)
        ops = []
        for op, right in zip(node.ops, node.comparators, strict=True):
            literal = isinstance(right, ast.Constant) and isinstance(right.value, (str, bytes))
            if literal and isinstance(op, ast.Is):
                op = ast.Eq()
            elif literal and isinstance(op, ast.IsNot):
                op = ast.NotEq()
            ops.append(op)
        node.ops = ops
        return node


def _numpy_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(a.asname or a.name for a in node.names if a.name == "numpy")
    return names


class _FixedSourceLoader(importlib.abc.Loader):
    """Loads one module from its source file after fixing removed numpy aliases."""

    def __init__(self, fullname: str, path: str) -> None:
        self.fullname = fullname
        self.path = path

    def get_source(self, fullname: str) -> str:
        with open(self.path, encoding="utf-8") as fh:
            return fh.read()

    def exec_module(self, module: ModuleType) -> None:
        tree = ast.parse(self.get_source(self.fullname), filename=self.path)
        # ``vars`` rather than ``hasattr``: numpy's module ``__getattr__`` warns about
        # some removed aliases, and numpy 2 re-added ``np.bool`` as a numpy type.
        missing = {a for a in _REMOVED_NUMPY_ALIASES if a not in vars(np)}
        fixer = _NumpyAliasFixer(_numpy_names(tree), missing)
        tree = ast.fix_missing_locations(fixer.visit(tree))
        code = compile(tree, self.path, "exec", dont_inherit=True)
        exec(code, module.__dict__)


def _needs_b() -> bool:
    if _EXPECTED_ERROR in sys.modules:
        return False
    try:
        importlib.import_module(_EXPECTED_ERROR)
    except AttributeError as exc:
        return "numpy" in str(exc)
    return False


def _apply_b() -> _Applied:
    import modAL

    spec = importlib.util.find_spec(_EXPECTED_ERROR)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise ImportError(f"cannot patch {_EXPECTED_ERROR}: its source file is not available")
    loader = _FixedSourceLoader(_EXPECTED_ERROR, spec.origin)
    fixed_spec = importlib.util.spec_from_file_location(_EXPECTED_ERROR, spec.origin, loader=loader)
    assert fixed_spec is not None
    module = importlib.util.module_from_spec(fixed_spec)
    sys.modules[_EXPECTED_ERROR] = module
    try:
        loader.exec_module(module)
    except BaseException:
        sys.modules.pop(_EXPECTED_ERROR, None)
        raise
    modAL.expected_error = module  # type: ignore[attr-defined]
    return _Applied(
        "B",
        f"B: {_EXPECTED_ERROR} loaded with np.float -> float "
        f"(numpy {np.__version__} has no np.float; numpy itself unchanged)",
        loaded_module=module,
    )


# ---------------------------------------------------------------------------------------
# C: DataFrame.append in data_vstack
# ---------------------------------------------------------------------------------------


def _restore_dtypes(frame: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    # A row taken out with ``iterrows`` or ``iloc[i]`` is upcast to one dtype (often
    # object); give it the pool's column dtypes back so the stacked frame stays numeric.
    try:
        return frame.astype(like.dtypes.to_dict())
    except (TypeError, ValueError):
        return frame


def _as_frame(block: Any, like: pd.DataFrame) -> pd.DataFrame:
    if isinstance(block, pd.DataFrame):
        return block
    if isinstance(block, pd.Series):
        # One row (E): as a column it would add a column named 0 and leave mixed int/str
        # feature names that scikit-learn rejects.
        return _restore_dtypes(block.to_frame().T, like)
    values = block.toarray() if sp.issparse(block) else np.asarray(block)
    if values.ndim == 1:
        values = values.reshape(1, -1)
    return _restore_dtypes(pd.DataFrame(values, columns=like.columns), like)


def _as_series(block: Any, like: pd.Series) -> pd.Series:
    if isinstance(block, pd.Series):
        return block
    return pd.Series(np.asarray(block).ravel(), name=like.name)


def _make_data_vstack(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def data_vstack(blocks: Sequence[Any]) -> Any:
        first = blocks[0]
        if not _is_pandas(first) or any(sp.issparse(b) for b in blocks):
            return original(blocks)
        if isinstance(first, pd.DataFrame):
            return pd.concat([_as_frame(b, first) for b in blocks])
        return pd.concat([_as_series(b, first) for b in blocks])

    data_vstack._activellm_compat = True  # type: ignore[attr-defined]
    return data_vstack


def _needs_c() -> bool:
    from modAL.utils import data

    if getattr(data.data_vstack, "_activellm_compat", False):
        return False
    frame = pd.DataFrame({"a": [1.0], "b": [2.0]})
    try:
        stacked = data.data_vstack((frame, frame))
    except (AttributeError, TypeError):
        return True
    return not (isinstance(stacked, pd.DataFrame) and stacked.shape == (2, 2))


def _apply_c() -> _Applied:
    from modAL.utils import data

    original = data.data_vstack
    return _Applied(
        "C",
        "C: modAL's data_vstack stacks DataFrames/Series with pd.concat "
        f"(pandas {pd.__version__} has no DataFrame.append)",
        _rebind(original, _make_data_vstack(original), "data_vstack"),
    )


# ---------------------------------------------------------------------------------------
# D: ranked batch sampling with a DataFrame pool
# ---------------------------------------------------------------------------------------


def _make_select_instance(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def select_instance(X_training: Any, X_pool: Any, *args: Any, **kwargs: Any) -> Any:
        return original(_to_numpy(X_training), _to_numpy(X_pool), *args, **kwargs)

    select_instance._activellm_compat = True  # type: ignore[attr-defined]
    return select_instance


def _make_select_cold_start_instance(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def select_cold_start_instance(X: Any, *args: Any, **kwargs: Any) -> Any:
        return original(_to_numpy(X), *args, **kwargs)

    select_cold_start_instance._activellm_compat = True  # type: ignore[attr-defined]
    return select_cold_start_instance


def _needs_d() -> bool:
    from modAL import batch

    if getattr(batch.select_instance, "_activellm_compat", False):
        return False
    frame = pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, 0.0]})
    return _raises(
        lambda: batch.select_instance(
            X_training=frame.iloc[:1],
            X_pool=frame,
            X_uncertainty=np.zeros(2),
            mask=np.ones(2, dtype=bool),
            metric="euclidean",
            n_jobs=None,
        ),
        AttributeError,
        KeyError,
    )


def _apply_d() -> _Applied:
    from modAL import batch

    bindings = []
    for name, factory in (
        ("select_instance", _make_select_instance),
        ("select_cold_start_instance", _make_select_cold_start_instance),
    ):
        original = getattr(batch, name)
        bindings += _rebind(original, factory(original), name)
    return _Applied(
        "D",
        "D: modAL.batch ranked batch sampling computes distances on DataFrame pools "
        "as numpy arrays (modAL called .reshape on them)",
        bindings,
    )


# ---------------------------------------------------------------------------------------
# E: label-based / column-based row helpers for pandas input
# ---------------------------------------------------------------------------------------


def _make_retrieve_rows(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def retrieve_rows(X: Any, I: Any) -> Any:  # noqa: E741 - modAL's signature
        # ``X[I]`` selects columns of a DataFrame with integer column names and labels
        # of a Series; modAL's indices are always positions.
        if _is_pandas(X):
            return X.iloc[I]
        return original(X, I)

    retrieve_rows._activellm_compat = True  # type: ignore[attr-defined]
    return retrieve_rows


def _make_drop_rows(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def drop_rows(X: Any, I: Any) -> Any:  # noqa: E741 - modAL's signature
        if _is_pandas(X):
            keep = np.ones(len(X), dtype=bool)
            keep[I] = False
            return X.iloc[keep]
        return original(X, I)

    drop_rows._activellm_compat = True  # type: ignore[attr-defined]
    return drop_rows


def _make_enumerate_data(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def enumerate_data(X: Any) -> Any:
        if isinstance(X, pd.DataFrame):
            return enumerate(row for _, row in X.iterrows())
        return original(X)

    enumerate_data._activellm_compat = True  # type: ignore[attr-defined]
    return enumerate_data


def _make_data_hstack(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def data_hstack(blocks: Sequence[Any]) -> Any:
        if isinstance(blocks[0], pd.DataFrame) and not any(sp.issparse(b) for b in blocks):
            return pd.concat(blocks, axis=1)
        return original(blocks)

    data_hstack._activellm_compat = True  # type: ignore[attr-defined]
    return data_hstack


_E_FACTORIES: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
    "retrieve_rows": _make_retrieve_rows,
    "drop_rows": _make_drop_rows,
    "enumerate_data": _make_enumerate_data,
    "data_hstack": _make_data_hstack,
}


def _needs_e() -> bool:
    from modAL.utils import data

    if getattr(data.retrieve_rows, "_activellm_compat", False):
        return False
    frame = pd.DataFrame([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], index=[10, 20, 30])
    checks: list[Callable[[], bool]] = [
        lambda: data.retrieve_rows(frame, [1]).shape == (1, 2),
        lambda: list(data.drop_rows(frame, 0).index) == [20, 30],
        lambda: next(iter(data.enumerate_data(frame)))[0] == 0,
        lambda: isinstance(data.data_hstack([frame, frame]), pd.DataFrame),
    ]
    for check in checks:
        try:
            if not check():
                return True
        except Exception:
            return True
    return False


def _apply_e() -> _Applied:
    from modAL.utils import data

    bindings = []
    for name, factory in _E_FACTORIES.items():
        original = getattr(data, name)
        bindings += _rebind(original, factory(original), name)
    return _Applied(
        "E",
        "E: modAL's retrieve_rows / drop_rows / enumerate_data / data_hstack address "
        "DataFrame and Series rows by position (iloc)",
        bindings,
    )


# ---------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------

# Order matters: B loads modAL.expected_error last so that it binds the fixed helpers.
_PATCHES: dict[str, tuple[Callable[[], bool], Callable[[], _Applied]]] = {
    "C": (_needs_c, _apply_c),
    "E": (_needs_e, _apply_e),
    "D": (_needs_d, _apply_d),
    "A": (_needs_a, _apply_a),
    "B": (_needs_b, _apply_b),
}


def needed_patches() -> list[str]:
    """Codes of the fixes the running stack needs and that are not applied yet.

    Each code is probed by running the piece of modAL that breaks on a tiny input,
    so the answer reflects the installed versions, not a version table.

    Returns
    -------
    list of str
        A subset of ``["A", "B", "C", "D", "E"]`` (see the module docstring).

    Examples
    --------
    >>> from activellm_modal.loop.compat import needed_patches, patch_modal
    >>> _ = patch_modal()
    >>> needed_patches()
    []
    """
    with _LOCK:
        _import_modal()
        return sorted(code for code, (needs, _) in _PATCHES.items() if needs())


def patch_modal() -> list[str]:
    """Fix modAL for the installed scikit-learn, numpy and pandas, in memory.

    Only fixes that a probe shows to be needed are applied, and only to modAL's
    own modules; numpy, pandas and scikit-learn are not modified. Calling it again
    is safe: it applies nothing and returns an empty list. Each applied fix is
    logged at INFO level on the ``activellm_modal.loop.compat`` logger.

    Returns
    -------
    list of str
        One line per fix applied by this call, each starting with its code
        (``"A: ..."``); empty when modAL already works or was patched before.

    See Also
    --------
    unpatch_modal : Undo the fixes.
    patched_modal : Context manager that applies and then undoes them.

    Examples
    --------
    >>> from activellm_modal.loop.compat import applied_patches, patch_modal
    >>> _ = patch_modal()
    >>> patch_modal()  # idempotent
    []
    >>> "A" in applied_patches()  # scikit-learn >= 1.8
    True
    """
    with _LOCK:
        _import_modal()
        report = []
        for code, (needs, apply) in _PATCHES.items():
            if code in _APPLIED or not needs():
                continue
            applied = apply()
            _APPLIED[code] = applied
            report.append(applied.description)
            logger.info("patched modAL: %s", applied.description)
        if not report:
            logger.debug("patch_modal: nothing to patch (already patched or not needed)")
        return report


def _unpatch(codes: Sequence[str]) -> list[str]:
    report = []
    for code in reversed(list(_PATCHES)):
        if code not in codes or code not in _APPLIED:
            continue
        applied = _APPLIED.pop(code)
        for binding in applied.bindings:
            # Also reset modules imported after patching, which bound the replacement.
            for module in _modal_modules():
                if module.__dict__.get(binding.name) is binding.replacement:
                    setattr(module, binding.name, binding.original)
        if applied.loaded_module is not None:
            name = applied.loaded_module.__name__
            if sys.modules.get(name) is applied.loaded_module:
                del sys.modules[name]
            parent = sys.modules.get(name.rpartition(".")[0])
            leaf = name.rpartition(".")[2]
            if parent is not None and getattr(parent, leaf, None) is applied.loaded_module:
                delattr(parent, leaf)
        report.append(applied.description)
        logger.info("unpatched modAL: %s", applied.description)
    return report


def unpatch_modal() -> list[str]:
    """Undo every fix :func:`patch_modal` applied, restoring modAL's originals.

    Mainly for tests that show the original failures. Objects taken out of a patched
    module before this call (e.g. ``from modAL.expected_error import
    expected_error_reduction``) keep working: only module bindings are reset, and
    :mod:`modAL.expected_error` is dropped from ``sys.modules`` so that a fresh import
    fails again as it did before.

    Returns
    -------
    list of str
        One line per fix undone; empty when nothing was patched.

    Examples
    --------
    >>> from activellm_modal.loop.compat import applied_patches, patch_modal, unpatch_modal
    >>> _ = patch_modal()
    >>> undone = unpatch_modal()
    >>> applied_patches()
    []
    >>> _ = patch_modal()  # leave modAL patched for whoever comes next
    """
    with _LOCK:
        return _unpatch(list(_APPLIED))


def applied_patches() -> list[str]:
    """Codes of the fixes currently applied by :func:`patch_modal`.

    Returns
    -------
    list of str
        Sorted codes such as ``["A", "B", "C", "D", "E"]``.

    Examples
    --------
    >>> from activellm_modal.loop.compat import applied_patches
    >>> isinstance(applied_patches(), list)
    True
    """
    with _LOCK:
        return sorted(_APPLIED)


@contextmanager
def patched_modal() -> Iterator[list[str]]:
    """Apply :func:`patch_modal` for the duration of a ``with`` block.

    On exit only the fixes applied on entry are undone, so nesting this inside
    code that already patched modAL leaves that patch in place.

    Yields
    ------
    list of str
        The report of :func:`patch_modal` for this block.

    Examples
    --------
    >>> from activellm_modal.loop.compat import patched_modal
    >>> with patched_modal() as report:
    ...     isinstance(report, list)
    True
    """
    with _LOCK:
        report = patch_modal()
        codes = [line.split(":", 1)[0] for line in report]
    try:
        yield report
    finally:
        with _LOCK:
            _unpatch(codes)


#: Set to False (or the environment variable ACTIVELLM_AUTO_PATCH to 0) to keep the
#: package's strategies and classifiers from patching modAL on first use.
AUTO_PATCH = True
_AUTO_TRIED = False


def auto_patch() -> list[str]:
    """Apply :func:`patch_modal` once, on the first use of a strategy or classifier.

    Does nothing when switched off (``AUTO_PATCH = False`` or the environment
    variable ``ACTIVELLM_AUTO_PATCH=0``), when modAL is not installed, or after
    the first call. What it applies is logged once on the
    ``activellm_modal.loop.compat`` logger.

    Returns
    -------
    list of str
        The fixes applied by this call (empty after the first call).

    Examples
    --------
    >>> auto_patch() == [] or True  # applied on the first use, a no-op afterwards
    True
    >>> auto_patch()
    []
    """
    global _AUTO_TRIED
    if _AUTO_TRIED:
        return []
    _AUTO_TRIED = True
    switch = os.environ.get("ACTIVELLM_AUTO_PATCH", "1").strip().lower()
    if not AUTO_PATCH or switch in ("0", "false", "no", "off"):
        return []
    try:
        applied = patch_modal()
    except ImportError:  # modAL is optional: the strategies also run without it
        return []
    if applied:
        logger.info(
            "patch_modal() applied automatically (%s); set ACTIVELLM_AUTO_PATCH=0 to opt out",
            "; ".join(applied),
        )
    return applied
