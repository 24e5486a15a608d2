"""How a model's weights are spelled in its label (``ViT-B-32/laion2b_s34b_b79k``,
``ViT-B-32/file:ckpt.safetensors@…``), torch-free so that reports can read saved labels."""

from __future__ import annotations

FILE_LABEL = "/file:"
"""What a model label holds between architecture and file name for a checkpoint file's weights."""
