"""The embedding engine and its cache: values, cache hits, resume, stale keys, workers, bad input."""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import weakref

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers_vlm import TINY_RN, TINY_VIT, make_dataset, random_frames
from PIL import Image

from evalkit.data.store import Dataset
from evalkit.errors import DatasetError, DegenerateError, EvalkitError, ModelError
from evalkit.vlm import embedder as embedder_module
from evalkit.vlm.cache import MERGED_FILE, EmbeddingCache
from evalkit.vlm.devices import parse_devices
from evalkit.vlm.embedder import ImageEmbedder
from evalkit.vlm.engine import embed_dataset
from evalkit.vlm.job import EmbedJob, split_contiguous
from evalkit.vlm.messages import UserError
from evalkit.vlm.models import load_model, resolve
from evalkit.vlm.workers import embed_with_workers


def _reference(spec, frames):
    """open_clip the usual way: PIL preprocess per frame, encode_image, normalise."""
    loaded = load_model(spec)
    x = torch.stack([loaded.pil_transform(Image.fromarray(f)) for f in frames])
    with torch.no_grad():
        return F.normalize(loaded.model.encode_image(x), dim=-1).numpy()


@pytest.mark.parametrize("spec", [TINY_VIT, TINY_RN], ids=["vit", "rn"])
def test_embeddings_equal_open_clip_encode_image(datasets_root, spec):
    # Frames whose short side is the model's input size: preprocessing only crops, so the engine
    # must give open_clip's embeddings to float rounding (resizing is tested in test_vlm_preprocess).
    ds = make_dataset(datasets_root, n=20, hw=(32, 40))
    emb = embed_dataset(ds, spec, devices="cpu", batch_size=8, progress=False)
    assert emb.values.shape == (20, 32) and emb.values.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb.values, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(emb.values, _reference(spec, np.asarray(ds.frames)), atol=1e-6)
    assert emb.random_weights and emb.computed == 20 and emb.path.parent == ds.path / "embeddings"


def test_second_call_reads_the_cache_without_loading_the_model(datasets_root, monkeypatch):
    ds = make_dataset(datasets_root, n=12)
    first = embed_dataset(ds, TINY_VIT, devices="cpu", progress=False)
    monkeypatch.setattr(
        embedder_module, "load_model", lambda *a, **k: pytest.fail("the model was loaded")
    )
    again = embed_dataset(ds.name, TINY_VIT, devices="cpu", progress=False)
    assert again.computed == 0 and again.images_per_second is None
    np.testing.assert_array_equal(again.values, first.values)
    assert sorted(p.name for p in first.path.iterdir()) == ["embeddings.npy", "meta.json"]


def test_cache_key_separates_datasets_models_precisions(datasets_root):
    a, b = make_dataset(datasets_root, "a", seed=1), make_dataset(datasets_root, "b", seed=2)
    vit, rn = resolve(TINY_VIT), resolve(TINY_RN)
    keys = {
        EmbeddingCache(ds, r, p).key for ds in (a, b) for r in (vit, rn) for p in ("fp32", "bf16")
    }
    assert len(keys) == 8


def test_interrupted_run_resumes_from_the_last_finished_shard(datasets_root, monkeypatch):
    ds = make_dataset(datasets_root, n=40)
    full = embed_dataset(
        make_dataset(datasets_root, "copy", n=40), TINY_VIT, devices="cpu", progress=False
    )
    written = []
    original = EmbeddingCache.write_shard

    def write_then_die(self, index, values):
        if len(written) == 2:
            raise KeyboardInterrupt
        written.append(index)
        original(self, index, values)

    monkeypatch.setattr(EmbeddingCache, "write_shard", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        embed_dataset(ds, TINY_VIT, devices="cpu", shard_frames=8, progress=False)
    cache = EmbeddingCache(ds, resolve(TINY_VIT), "fp32")
    assert not (cache.dir / MERGED_FILE).exists() and cache.load() is None
    assert sorted(p.name for p in cache.dir.glob("shard-*.npy")) == [
        "shard-00000.npy",
        "shard-00001.npy",
    ]
    assert not list(cache.dir.glob(".*tmp"))  # nothing half-written
    monkeypatch.setattr(EmbeddingCache, "write_shard", original)
    resumed = embed_dataset(
        ds, TINY_VIT, devices="cpu", shard_frames=4, progress=False
    )  # keeps the cache's shard size
    assert resumed.computed == 24
    np.testing.assert_allclose(resumed.values, full.values, atol=1e-6)


def test_stale_or_foreign_cache_is_never_reused(datasets_root):
    ds = make_dataset(datasets_root, n=12)
    first = embed_dataset(ds, TINY_VIT, devices="cpu", progress=False)
    expected = np.array(first.values)
    meta_path = first.path / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["key"]["dataset"]["content_hash"] = "0" * 32  # a cache copied from another dataset
    meta_path.write_text(json.dumps(meta))
    np.save(first.path / MERGED_FILE, np.zeros((12, 32), np.float32))
    said = []
    again = embed_dataset(ds, TINY_VIT, devices="cpu", progress=False, on_message=said.append)
    assert again.computed == 12 and any("not reused" in m for m in said)
    np.testing.assert_allclose(again.values, expected, atol=1e-6)
    (again.path / "meta.json").unlink()  # no meta at all: not trusted either
    assert (
        embed_dataset(ds, TINY_VIT, devices="cpu", progress=False, on_message=said.append).computed
        == 12
    )


def test_one_writer_at_a_time_and_leftovers_cleaned(datasets_root):
    ds = make_dataset(datasets_root, n=8)
    cache = EmbeddingCache(ds, resolve(TINY_VIT), "fp32")
    cache.dir.mkdir(parents=True)
    leftover = cache.dir / ".shard-00000.npy.4242.tmp"  # from a writer that was killed
    leftover.write_bytes(b"partial")
    said, results = [], []
    with cache.locked():
        worker = threading.Thread(
            target=lambda: results.append(
                embed_dataset(ds, TINY_VIT, devices="cpu", progress=False, on_message=said.append)
            )
        )
        worker.start()
        worker.join(1.0)
        assert worker.is_alive() and any("waiting" in m for m in said)
    worker.join(60)
    assert results[0].computed == 8 and not leftover.exists()


@pytest.mark.slow
def test_two_cpu_workers_shard_and_merge_exactly(datasets_root):
    ds = make_dataset(datasets_root, n=36)
    single = embed_dataset(
        make_dataset(datasets_root, "single", n=36),
        TINY_VIT,
        devices="cpu",
        shard_frames=5,
        progress=False,
    )
    two = embed_dataset(ds, TINY_VIT, devices="cpu,cpu", shard_frames=5, progress=False)
    assert two.devices == ("cpu", "cpu") and two.computed == 36
    np.testing.assert_allclose(
        two.values, single.values, atol=1e-6
    )  # same frames in the same order
    assert not list(two.path.glob("shard-*"))


def test_split_contiguous():
    assert split_contiguous(list(range(8)), 2) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert split_contiguous([3, 4], 3) == [[], [3], [4]]


def test_a_job_per_device_and_its_frames(tmp_path):
    job = EmbedJob(
        tmp_path,
        resolve(TINY_VIT),
        "fp32",
        None,
        False,
        n_frames=18,
        devices=("cpu", "cuda:0", "cuda:1"),
    )
    job = job.planned(5, [0, 2, 3])
    assert job.ranges == [(0, 5), (5, 10), (10, 15), (15, 18)] and job.frames == 13
    parts = job.per_device()
    assert [(p.devices, p.shards, p.frames) for p in parts] == [
        (("cpu",), (0,), 5),
        (("cuda:0",), (2,), 5),
        (("cuda:1",), (3,), 3),
    ]


@pytest.mark.parametrize("cls", [EvalkitError, DatasetError, ModelError, DegenerateError])
def test_user_errors_cross_processes_as_their_class(cls):
    again = UserError.of(cls("Something to fix; do this.")).exception()
    assert type(again) is cls and str(again) == "Something to fix; do this."
    assert type(UserError("no.such.module", "Gone", "A sentence.").exception()) is EvalkitError


@pytest.mark.slow
def test_a_workers_dataset_error_reaches_the_parent_as_itself(datasets_root):
    """A worker process that cannot open its dataset: the parent raises the same DatasetError."""
    ds = make_dataset(datasets_root, n=8)
    gone = datasets_root / "moved-away"
    with pytest.raises(DatasetError) as here:
        Dataset(gone)
    job = EmbedJob(gone, resolve(TINY_VIT), "fp32", None, False, len(ds), devices=("cpu",)).planned(
        8, [0]
    )
    with pytest.raises(EvalkitError) as there:
        embed_with_workers(job, say=lambda m: None, bar=None)
    assert type(there.value) is DatasetError and str(there.value) == str(here.value)


@pytest.mark.slow
def test_torchrun_two_ranks_rank0_merges(datasets_root, tmp_path):
    """Each rank embeds a share; rank 1 works on its own copy of the dataset (no shared disk), so its
    shards reach rank 0 over torch.distributed before rank 0 merges."""
    ds = make_dataset(datasets_root, n=30)
    copy = tmp_path / "rank1-disk" / ds.name
    shutil.copytree(ds.path, copy)
    script = tmp_path / "run.py"
    out = tmp_path / "rank0.npy"
    script.write_text(
        textwrap.dedent(f"""
        import numpy as np, os
        from evalkit.vlm import embed_dataset, ModelSpec
        rank = os.environ["RANK"]
        path = {str(ds.path)!r} if rank == "0" else {str(copy)!r}
        e = embed_dataset(path, ModelSpec("evalkit-tiny-vit", "none"), shard_frames=4, progress=False)
        if rank == "0":
            np.save({str(out)!r}, np.asarray(e.values))
        else:
            assert e.values.shape[0] == 0
    """)
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            "2",
            str(script),
        ],
        check=True,
        env=env,
        timeout=180,
        capture_output=True,
    )
    expected = ImageEmbedder(TINY_VIT).embed_frames(np.asarray(ds.frames))
    np.testing.assert_allclose(np.load(out), expected, atol=1e-6)
    assert len(list((copy / "embeddings").glob("*/shard-*.npy"))) == 4  # rank 1's half: shards 4..7


def test_nan_embeddings_are_refused_and_not_cached(datasets_root, monkeypatch):
    ds = make_dataset(datasets_root, n=12)
    monkeypatch.setattr(
        ImageEmbedder, "encode_pixels", lambda self, x: torch.full((len(x), 32), float("nan"))
    )
    with pytest.raises(ModelError, match="NaN"):
        embed_dataset(ds, TINY_VIT, devices="cpu", progress=False)
    cache = EmbeddingCache(ds, resolve(TINY_VIT), "fp32")
    assert not list(cache.dir.glob("shard-*")) and cache.load() is None
    with pytest.raises(EvalkitError, match="NaN"):
        cache.write_shard(0, np.full((4, 32), np.nan, np.float32))


def test_batch_that_does_not_fit_is_halved_and_said(datasets_root):
    ds = make_dataset(datasets_root, n=20)
    said = []
    embedder = ImageEmbedder(TINY_VIT, batch_size=16, on_message=said.append)
    original = embedder.encode_pixels

    def limited(x):
        if len(x) > 5:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return original(x)

    embedder.encode_pixels = limited
    emb = embed_dataset(ds, TINY_VIT, embedder=embedder, shard_frames=20, progress=False)
    assert emb.batch_size == 4 and said == [
        "Batch size 16 does not fit in memory on cpu; continuing with 8.",
        "Batch size 8 does not fit in memory on cpu; continuing with 4.",
    ]
    np.testing.assert_allclose(
        emb.values, ImageEmbedder(TINY_VIT).embed_frames(np.asarray(ds.frames)), atol=1e-6
    )


def test_frames_smaller_than_the_model_input(datasets_root):
    ds = make_dataset(datasets_root, n=6, hw=(24, 30))
    with pytest.raises(DatasetError, match="--size"):
        embed_dataset(ds, TINY_VIT, devices="cpu", progress=False)
    assert embed_dataset(
        ds, TINY_VIT, devices="cpu", progress=False, allow_upscale=True
    ).values.shape == (6, 32)


def test_devices():
    assert parse_devices("cpu") == [torch.device("cpu")]
    assert parse_devices("cpu, cpu") == [torch.device("cpu")] * 2
    assert parse_devices("auto") == (
        [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
        or [torch.device("cpu")]
    )
    with pytest.raises(EvalkitError, match="does not exist"):
        parse_devices(f"cuda:{torch.cuda.device_count()}")
    with pytest.raises(EvalkitError, match="not a device"):
        parse_devices("gpu0")
    with pytest.raises(EvalkitError, match="precision"):
        ImageEmbedder(TINY_VIT, precision="fp8")


def test_image_embedder_in_memory(datasets_root):
    frames = random_frames(9, (40, 48))
    embedder = ImageEmbedder(TINY_VIT, batch_size=4)
    emb = embedder.embed_frames(frames)
    # These frames are resized: a grey level off on under 1 % of the values moves this tiny
    # random model's embeddings by ~2e-4 (ViT-B-32's by ~5e-5, see `evalkit bench embed`).
    np.testing.assert_allclose(emb, _reference(TINY_VIT, frames), atol=1e-3)
    np.testing.assert_allclose(embedder.embed_frames(frames[3]), emb[3:4], atol=1e-6)
    text = embedder.embed_texts(["a pole", "a cart", "a pole"])
    assert text.shape == (3, 32) and np.array_equal(text[0], text[2])
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1.0, atol=1e-6)
    bf16 = ImageEmbedder(embedder.loaded, precision="bf16").embed_frames(frames)
    assert bf16.dtype == np.float32 and np.abs(bf16 - emb).max() < 0.1


def test_image_embedder_closes_and_releases_its_model():
    frames = random_frames(3, (32, 32))
    with ImageEmbedder(TINY_VIT) as embedder:
        assert embedder.embed_frames(frames).shape == (3, 32)
        model = weakref.ref(embedder.loaded.model)
    gc.collect()
    assert model() is None  # nothing holds the model any more
    with pytest.raises(RuntimeError, match="closed"):
        embedder.embed_frames(frames)
    embedder.close()  # closing again does nothing
