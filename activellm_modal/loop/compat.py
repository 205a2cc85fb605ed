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

import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from activellm_modal.loop.modal_fixes import (
    _APPLIED,
    _LOCK,
    _Applied,
    _apply_a,
    _apply_b,
    _apply_c,
    _apply_d,
    _apply_e,
    _import_modal,
    _modal_modules,
    _needs_a,
    _needs_b,
    _needs_c,
    _needs_d,
    _needs_e,
)

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
