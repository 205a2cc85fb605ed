"""The fixes behind ``patch_modal``: one probe and one patch per code, A to E."""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.abc
import importlib.util
import inspect
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

# Messages go to the compat logger, where patch_modal's own messages go.
logger = logging.getLogger("activellm_modal.loop.compat")


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
    """What one patch changed, so that ``unpatch_modal`` can undo exactly that."""

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
