"""Video backends: frame averaging against the mean computed by hand, windows through the
engine's cache (never mixing windows, strides or models; resumed), and the refusals when a
model gets single frames where it needs windows and the reverse."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers_vlm import TINY_RN, TINY_VIT, make_dataset, random_frames

from evalkit.errors import EvalkitError, ModelError
from evalkit.vlm.embedder import ImageEmbedder
from evalkit.vlm.engine import embed_dataset
from evalkit.vlm.models import ModelSpec, resolve
from evalkit.vlm.window_cache import WindowEmbeddingCache
from evalkit.vlm.windows import WindowSpec

AVG_VIT = ModelSpec("avg:evalkit-tiny-vit", "none")


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _windows_by_hand(episodes: np.ndarray, steps: np.ndarray, k: int, s: int) -> np.ndarray:
    """Rows of each window by a loop over the rows (dataset rows in episode, step order)."""
    out = []
    for i in range(len(episodes)):
        row = []
        for j in range(k):
            back = (k - 1 - j) * s
            row.append(i - min(back, int(steps[i])))
        out.append(row)
    return np.array(out)


def test_frame_averaging_is_the_mean_of_normalised_frame_embeddings():
    frames = random_frames(12)
    windows = np.array([[0, 3, 5], [2, 2, 2], [11, 7, 1], [4, 5, 6]])
    with ImageEmbedder(TINY_VIT) as image:
        per_frame = image.embed_frames(frames).astype(np.float64)
        text = image.embed_texts(["a pole"])
    by_hand = _unit(np.stack([per_frame[w].mean(axis=0) for w in windows]))
    with ImageEmbedder(AVG_VIT, batch_size=5) as avg:  # 5 frames a batch: one window each
        ours = avg.embed_windows(frames, windows)
        np.testing.assert_allclose(ours, by_hand, atol=1e-5)
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-6)
        np.testing.assert_array_equal(avg.embed_texts(["a pole"]), text)
        # texts are not conditioned: the same for every window
        per_window = avg.embed_window_texts(frames, windows, ["a pole"])
        np.testing.assert_array_equal(per_window, np.broadcast_to(text, (4, 1, text.shape[1])))
    # a window of one frame is that frame's embedding
    with ImageEmbedder(AVG_VIT) as avg:
        np.testing.assert_allclose(
            avg.embed_windows(frames, np.arange(12)[:, None]), per_frame, atol=1e-5
        )


def test_averaging_names_its_image_model():
    r = resolve("avg:evalkit-tiny-vit", "none")
    inner = resolve(TINY_VIT)
    assert r.label == f"avg:{inner.label}" and r.embed_dim == inner.embed_dim
    assert r.identity["frames_model"] == inner.identity and r.identity != inner.identity
    assert r.embeds_windows and r.frames_per_window is None and r.random_weights


def test_single_frames_for_a_window_model_and_windows_for_an_image_model_are_refused(
    datasets_root,
):
    frames = random_frames(4)
    with ImageEmbedder(AVG_VIT) as avg, pytest.raises(ModelError) as err:
        avg.embed_frames(frames)
    assert "embeds windows of several frames, not single frames" in str(err.value)
    with ImageEmbedder(TINY_VIT) as image, pytest.raises(ModelError) as err:
        image.embed_windows(frames, np.array([[0, 1]]))
    assert "is an image model: it embeds single frames, not windows" in str(err.value)
    assert "avg:evalkit-tiny-vit" in str(err.value)
    ds = make_dataset(datasets_root, n=20)
    with pytest.raises(ModelError, match="not single frames"):
        embed_dataset(ds, AVG_VIT, devices="cpu", progress=False)
    with pytest.raises(ModelError, match="not windows"):
        embed_dataset(ds, TINY_VIT, devices="cpu", progress=False, window=WindowSpec(2))
    with pytest.raises(EvalkitError, match="more than the longest episode's 10 frames"):
        embed_dataset(ds, AVG_VIT, devices="cpu", progress=False, window=WindowSpec(4, 4))
    with pytest.raises(ModelError, match="avg:<image model>"):
        resolve("avg:")
    assert not (ds.path / "embeddings").exists() or not any((ds.path / "embeddings").iterdir())


def test_window_cache_matches_frames_by_hand_and_never_mixes_windows_or_models(datasets_root):
    ds = make_dataset(datasets_root, n=40)  # 4 episodes of 10 steps
    states = ds.states
    frames_only = embed_dataset(ds, TINY_VIT, devices="cpu", progress=False).values
    runs = {}
    for k, s in [(3, 2), (3, 1), (2, 2)]:
        run = embed_dataset(ds, AVG_VIT, devices="cpu", progress=False, window=WindowSpec(k, s))
        rows = _windows_by_hand(states["episode"].to_numpy(), states["step"].to_numpy(), k, s)
        by_hand = _unit(
            np.stack([np.asarray(frames_only)[r].astype(np.float64).mean(0) for r in rows])
        )
        np.testing.assert_allclose(run.values, by_hand, atol=1e-5)
        assert run.computed == 40 and f"k{k}s{s}" in run.path.name
        runs[(k, s)] = run
    rn = embed_dataset(
        ds,
        ModelSpec("avg:evalkit-tiny-rn", "none"),
        devices="cpu",
        progress=False,
        window=WindowSpec(3, 2),
    )
    paths = {r.path for r in runs.values()} | {rn.path}
    assert len(paths) == 4 and all(p.parent == ds.path / "embeddings" for p in paths)
    keys = [json.loads((p / "meta.json").read_text())["key"] for p in paths]
    assert {json.dumps(k["window"], sort_keys=True) for k in keys} >= {
        json.dumps({"frames": 3, "rule": "first-frame-padding-1", "stride": 2}, sort_keys=True)
    }
    assert len({json.dumps(k, sort_keys=True) for k in keys}) == 4
    assert not np.allclose(rn.values, runs[(3, 2)].values, atol=1e-3)
    again = embed_dataset(ds, AVG_VIT, devices="cpu", progress=False, window=WindowSpec(3, 2))
    assert again.computed == 0 and again.path == runs[(3, 2)].path
    np.testing.assert_array_equal(again.values, runs[(3, 2)].values)
    assert TINY_RN.model not in runs[(3, 2)].path.name


def test_window_embedding_resumes_from_the_shards_it_has(datasets_root):
    ds = make_dataset(datasets_root, n=40)
    window = WindowSpec(4, 1)
    full = np.array(embed_dataset(ds, AVG_VIT, devices="cpu", progress=False, window=window).values)
    cache = WindowEmbeddingCache(ds, resolve(AVG_VIT), "fp32", window)
    import shutil

    shutil.rmtree(cache.dir)
    meta = cache.prepare(full.shape[1], 10)
    cache.write_shard(0, full[:10])
    cache.write_shard(2, full[20:30])
    resumed = embed_dataset(
        ds, AVG_VIT, devices="cpu", progress=False, window=window, shard_frames=10
    )
    assert resumed.computed == 20 and meta["shard_frames"] == 10
    np.testing.assert_allclose(resumed.values, full, atol=1e-6)


@pytest.mark.slow
def test_two_cpu_workers_embed_windows_as_one_process(datasets_root):
    ds = make_dataset(datasets_root, n=40)
    window = WindowSpec(3, 2)
    one = np.array(embed_dataset(ds, AVG_VIT, devices="cpu", progress=False, window=window).values)
    ds2 = make_dataset(datasets_root, name="vlm-toy-2", n=40)
    two = embed_dataset(
        ds2, AVG_VIT, devices="cpu,cpu", progress=False, window=window, shard_frames=10
    )
    assert two.computed == 40 and len(two.devices) == 2
    np.testing.assert_allclose(two.values, one, atol=1e-5)


def test_models_lists_the_video_backends(cli):
    r = cli("models")
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "avg models (no list): avg:<image model>" in text
    assert "XCLIPModel" in text


def test_embed_command_refuses_a_window_model_in_one_sentence(cli, datasets_root):
    make_dataset(datasets_root, name="toy", n=20)
    r = cli("embed", "toy", "--model", "avg:evalkit-tiny-vit", "--pretrained", "none")
    assert r.exit_code == 2, r.output
    message = " ".join(r.output.split())
    error = message[message.index("error: ") :]
    assert "not single frames" in error and error.count(". ") == 0
    assert "Traceback" not in r.output
