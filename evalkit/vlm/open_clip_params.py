"""Parameter counts of open_clip CLIP configs from the config alone (no model built): the
``evalkit models`` table and the scaling figure's axis."""

from __future__ import annotations

from typing import Any, Mapping


def count_parameters(config: Mapping[str, Any]) -> int | None:
    """Parameter count of a standard open_clip CLIP config, from the config alone.

    Covers ViT and ModifiedResNet image towers with the standard text transformer (the paper's
    models and most others); ``None`` for timm / Hugging Face towers and exotic options.
    """
    try:
        vision = _vision_params(config["vision_cfg"], int(config["embed_dim"]))
        text = _text_params(config["text_cfg"], int(config["embed_dim"]))
    except (KeyError, TypeError, ValueError):
        return None
    if vision is None or text is None or config.get("custom_text") or "multimodal_cfg" in config:
        return None
    return vision + text + 1 + (1 if config.get("init_logit_bias") is not None else 0)


def _block_params(width: int, mlp_ratio: float) -> int:
    hidden = int(width * mlp_ratio)
    return 4 * width * width + 4 * width + 2 * width * hidden + hidden + width + 4 * width


_PLAIN_VIT = {
    "image_size",
    "layers",
    "width",
    "head_width",
    "mlp_ratio",
    "patch_size",
    "patch_dropout",
    "pool_type",
    "output_tokens",
}
_PLAIN_TEXT = {
    "context_length",
    "vocab_size",
    "width",
    "heads",
    "layers",
    "mlp_ratio",
    "output_tokens",
    "pool_type",
    "proj_bias",
}


def _vision_params(cfg: Mapping[str, Any], embed_dim: int) -> int | None:
    layers = cfg.get("layers", 12)
    width = int(cfg.get("width", 768))
    size = cfg.get("image_size", 224)
    size = size if isinstance(size, (list, tuple)) else (size, size)
    if isinstance(layers, (list, tuple)):
        if set(cfg) - {"image_size", "layers", "width", "head_width", "patch_size"}:
            return None
        return _resnet_params(list(layers), width, int(size[0]), embed_dim)
    if set(cfg) - _PLAIN_VIT or cfg.get("pool_type", "tok") != "tok":
        return None
    patch = int(cfg.get("patch_size", 16))
    grid = (int(size[0]) // patch) * (int(size[1]) // patch)
    n = 3 * patch * patch * width + width + (grid + 1) * width + 2 * width
    n += int(layers) * _block_params(width, float(cfg.get("mlp_ratio", 4.0)))
    return n + 2 * width + width * embed_dim


def _text_params(cfg: Mapping[str, Any], embed_dim: int) -> int | None:
    if set(cfg) - _PLAIN_TEXT:
        return None
    width = int(cfg.get("width", 512))
    n = int(cfg.get("vocab_size", 49408)) * width + int(cfg.get("context_length", 77)) * width
    n += int(cfg.get("layers", 12)) * _block_params(width, float(cfg.get("mlp_ratio", 4.0)))
    n += 2 * width + width * embed_dim + (embed_dim if cfg.get("proj_bias") else 0)
    return n


def _resnet_params(layers: list[int], width: int, image_size: int, embed_dim: int) -> int:
    def conv(cin: int, cout: int, k: int) -> int:
        return cin * cout * k * k

    def bn(c: int) -> int:
        return 2 * c

    half = width // 2
    n = (
        conv(3, half, 3)
        + bn(half)
        + conv(half, half, 3)
        + bn(half)
        + conv(half, width, 3)
        + bn(width)
    )
    inplanes = width
    for i, blocks in enumerate(layers):
        planes = width * 2**i
        for b in range(blocks):
            stride = 1 if (i == 0 or b > 0) else 2
            n += conv(inplanes, planes, 1) + bn(planes) + conv(planes, planes, 3) + bn(planes)
            n += conv(planes, planes * 4, 1) + bn(planes * 4)
            if stride > 1 or inplanes != planes * 4:
                n += conv(inplanes, planes * 4, 1) + bn(planes * 4)
            inplanes = planes * 4
    dim = width * 32
    spatial = image_size // 32
    n += (spatial * spatial + 1) * dim + 3 * (dim * dim + dim) + dim * embed_dim + embed_dim
    return n
