"""Convolutions shaped for XLA:CPU, without its ``convolution`` op.

Vmapped over a supernet's edges, ``lax.conv_general_dilated`` becomes a grouped convolution that
XLA:CPU runs 10-20x slower. Dense convs are one matrix product over the stacked k*k patches;
depthwise convs accumulate ``tap * shifted input`` in a ``lax.scan`` over the taps, whose
rematerialized body keeps both the compiled program and the saved activations small.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _geometry(x: jax.Array, size: int, stride: int, padding: int, dilation: int):
  """Padded input, output size, and the (row, col) offset of each kernel tap."""
  p, s, d, k = padding, stride, dilation, size
  if p:
    x = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
  out = ((x.shape[1] - d * (k - 1) - 1) // s + 1, (x.shape[2] - d * (k - 1) - 1) // s + 1)
  return x, out, [(d * i, d * j) for i in range(k) for j in range(k)]


def _window(x: jax.Array, offset, out: tuple[int, int], stride: int) -> jax.Array:
  """The strided view of ``x`` that kernel tap ``offset`` sees (offset may be traced)."""
  s = stride
  span = (x.shape[0], s * (out[0] - 1) + 1, s * (out[1] - 1) + 1, x.shape[3])
  zero = jnp.zeros((), jnp.int32)  # one index type, also under jax_enable_x64
  window = jax.lax.dynamic_slice(x, (zero, jnp.int32(offset[0]), jnp.int32(offset[1]), zero),
                                 span)
  return window[:, ::s, ::s, :] if s > 1 else window


def conv2d(x: jax.Array, kernel: jax.Array, *, stride: int, padding: int, dilation: int,
           depthwise: bool) -> jax.Array:
  """NHWC ``x`` convolved with the HWIO ``kernel`` (``[k, k, 1, C]`` when ``depthwise``), zero
  padding ``padding`` on every side."""
  x, out, offsets = _geometry(x, kernel.shape[0], stride, padding, dilation)
  if not depthwise:
    patches = [_window(x, o, out, stride) for o in offsets]
    stacked = patches[0] if len(patches) == 1 else jnp.concatenate(patches, axis=-1)
    # One 2-D matrix product: its kernel gradient is then a plain dot over all pixels, where a
    # 4-D einsum made XLA:CPU transpose both operands (the pixels-major layout) first.
    flat = stacked.reshape(-1, stacked.shape[-1]) @ kernel.reshape(-1, kernel.shape[-1])
    return flat.reshape(*stacked.shape[:-1], kernel.shape[-1])

  @jax.checkpoint
  def accumulate(total, tap):
    offset, weights = tap
    return total + _window(x, offset, out, stride) * weights, None

  zeros = jnp.zeros((x.shape[0], *out, x.shape[3]), x.dtype)
  taps = (jnp.asarray(offsets, jnp.int32), kernel.reshape(len(offsets), -1))
  return jax.lax.scan(accumulate, zeros, taps)[0]
