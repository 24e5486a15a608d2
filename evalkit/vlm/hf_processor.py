"""A Hugging Face CLIP, SigLIP or VideoMAE (X-CLIP) image processor config as the engine's preprocessing config
(:class:`~evalkit.vlm.preprocess.BatchPreprocessor`): resize of the short side then a centre
crop (CLIP), or a squash resize (SigLIP); rescale by 1/255; mean and std. Anything else is
refused with one sentence, never approximated."""

from __future__ import annotations

from typing import Any, Mapping

from evalkit.errors import ModelError

_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
_PROCESSOR_DEFAULTS: dict[str, dict[str, Any]] = {
    "clip": {
        "do_resize": True,
        "size": {"shortest_edge": 224},
        "resample": 3,
        "do_center_crop": True,
        "crop_size": {"height": 224, "width": 224},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": _CLIP_MEAN,
        "image_std": _CLIP_STD,
    },
    "siglip": {
        "do_resize": True,
        "size": {"height": 224, "width": 224},
        "resample": 3,
        "do_center_crop": False,
        "crop_size": None,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
    },
    "videomae": {
        "do_resize": True,
        "size": {"shortest_edge": 224},
        "resample": 2,
        "do_center_crop": True,
        "crop_size": {"height": 224, "width": 224},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
    },
}
"""The class defaults of ``CLIPImageProcessor``, ``SiglipImageProcessor`` and
``VideoMAEImageProcessor`` (X-CLIP's, applied to every frame of a video) — what a config's
missing keys mean."""

_PROCESSOR_CLASSES = {
    "CLIPImageProcessor": "clip",
    "CLIPImageProcessorFast": "clip",
    "CLIPImageProcessorPil": "clip",
    "CLIPFeatureExtractor": "clip",
    "SiglipImageProcessor": "siglip",
    "SiglipImageProcessorFast": "siglip",
    "SiglipImageProcessorPil": "siglip",
    "VideoMAEImageProcessor": "videomae",
    "VideoMAEImageProcessorFast": "videomae",
    "VideoMAEImageProcessorPil": "videomae",
    "VideoMAEFeatureExtractor": "videomae",
}
_IGNORED_KEYS = {
    "image_processor_type",
    "feature_extractor_type",
    "processor_class",
    "_processor_class",
    "do_convert_rgb",  # frames are RGB already
    "default_to_square",
    "data_format",
    "input_data_format",
    "return_tensors",
    "device",
    "disable_grouping",
    "image_seq_length",
}
_RESAMPLE = {2: "bilinear", 3: "bicubic"}  # PIL's BILINEAR and BICUBIC


def processor_to_preprocess(cfg: Mapping[str, Any], model_type: str, where: str) -> dict[str, Any]:
    """The engine's preprocessing config reproducing a CLIP or SigLIP image processor config.

    :raises ModelError: a processor class or setting the engine cannot reproduce exactly.
    """

    def refuse(why: str) -> ModelError:
        return ModelError(
            f"The image processor of {where} {why}, which evalkit's batched preprocessing cannot "
            "reproduce; it refuses rather than approximate it."
        )

    cls = cfg.get("image_processor_type") or cfg.get("feature_extractor_type")
    family = _PROCESSOR_CLASSES.get(str(cls), None) if cls else model_type
    if family not in _PROCESSOR_DEFAULTS:
        raise refuse(f"is a {cls or 'processor of no known class'}")
    known = set(_PROCESSOR_DEFAULTS[family]) | _IGNORED_KEYS
    odd = sorted(k for k, v in cfg.items() if k not in known and v not in (None, False, 0, [], {}))
    if odd:
        raise refuse(f"sets {', '.join(f'{k}={cfg[k]!r}' for k in odd)}")
    p = {**_PROCESSOR_DEFAULTS[family], **{k: v for k, v in cfg.items() if k in known}}
    if not p["do_resize"]:
        raise refuse("does not resize (do_resize false)")
    if int(p["resample"]) not in _RESAMPLE:
        raise refuse(
            f"resamples with PIL filter {p['resample']} (only bilinear 2 and bicubic 3 are)"
        )
    if not p["do_rescale"] or abs(float(p["rescale_factor"]) - 1 / 255) > 1e-9:
        raise refuse(
            f"rescales by {p['rescale_factor'] if p['do_rescale'] else 1} instead of 1/255"
        )
    size = p["size"]
    if isinstance(size, (int, float)):
        size = {"shortest_edge": int(size)}
    crop = p["crop_size"]
    if isinstance(crop, (int, float)):
        crop = {"height": int(crop), "width": int(crop)}
    out: dict[str, Any] = {}
    if isinstance(size, Mapping) and set(size) == {"height", "width"}:
        out["resize_mode"] = "squash"
        hw = [int(size["height"]), int(size["width"])]
    elif isinstance(size, Mapping) and set(size) == {"shortest_edge"}:
        if not p["do_center_crop"]:
            raise refuse("resizes the short side without a centre crop (frames of any shape)")
        out["resize_mode"] = "shortest_edge"
        out["resize_size"] = int(size["shortest_edge"])
        hw = None
    else:
        raise refuse(f"resizes to {size!r}")
    if p["do_center_crop"]:
        if not isinstance(crop, Mapping) or set(crop) != {"height", "width"}:
            raise refuse(f"crops to {crop!r}")
        hw = [int(crop["height"]), int(crop["width"])]
        if (
            out["resize_mode"] == "squash"
        ):  # a crop after a squash: a smaller squash is not the same
            raise refuse("crops after resizing to a fixed height and width")
    mean = [float(v) for v in p["image_mean"]] if p["do_normalize"] else [0.0, 0.0, 0.0]
    std = [float(v) for v in p["image_std"]] if p["do_normalize"] else [1.0, 1.0, 1.0]
    if len(mean) != 3 or len(std) != 3:
        raise refuse(f"normalises with mean {mean} and std {std} (three values each are needed)")
    out.update(
        size=hw,
        mean=mean,
        std=std,
        interpolation=_RESAMPLE[int(p["resample"])],
        fill_color=0,
        crop_offset="floor",
    )
    return out
