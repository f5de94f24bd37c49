"""Convolutions as XLA's ``convolution`` op (``lax.conv_general_dilated``): cuDNN on GPU, the MXU
on TPU.

Vmapped over a group of edges, XLA batches the convolution itself (it folds the edge axis into the
feature groups). A hand-written fold of a group's edges into ``feature_group_count`` may measure
faster on an accelerator; it is not written here, as there was no accelerator to measure it on.
"""

from __future__ import annotations

import jax

_DIMENSIONS = ("NHWC", "HWIO", "NHWC")


def conv2d(x: jax.Array, kernel: jax.Array, *, stride: int, padding: int, dilation: int,
           depthwise: bool) -> jax.Array:
  """NHWC ``x`` convolved with the HWIO ``kernel`` (``[k, k, 1, C]`` when ``depthwise``), zero
  padding ``padding`` on every side."""
  return jax.lax.conv_general_dilated(
      x, kernel, window_strides=(stride, stride), padding=((padding, padding), (padding, padding)),
      rhs_dilation=(dilation, dilation), dimension_numbers=_DIMENSIONS,
      feature_group_count=x.shape[-1] if depthwise else 1)
