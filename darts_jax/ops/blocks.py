"""The building blocks ops are made of (NHWC): BatchNorm, convolutions, pools, and the modules of
the DARTS, NAS-Bench-201 and NAS-Bench-101 ops. The registered factories are in ``primitives``; the
convolution kernels, one form per backend, in ``kernels``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.ad_checkpoint import checkpoint_name

from darts_jax.ops import kernels

# PyTorch BatchNorm momentum 0.1 is Flax momentum 0.9 (Flax keeps 0.9 of the running value).
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


@functools.partial(jax.jit, static_argnums=(1, 2))
def torch_default_init(key: jax.Array, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
  """PyTorch's default conv/linear kernel init, U(+-1/sqrt(fan_in)) (kaiming_uniform, a=sqrt(5)).

  Jitted as one program per shape: eager initializers compile every primitive for every new shape,
  which made building a supernet of hundreds of ops take tens of seconds.
  """
  bound = 1.0 / np.sqrt(np.prod(shape[:-1]))
  return jax.random.uniform(key, shape, dtype, -bound, bound)


def linear(in_features: int, out_features: int, *, rngs: nnx.Rngs) -> nnx.Linear:
  """A linear layer initialized as PyTorch's ``nn.Linear``: weight and bias both U(+-1/sqrt(fan_in))
  (the reference networks keep PyTorch's defaults; flax's are LeCun normal and zero bias)."""
  bound = 1.0 / np.sqrt(in_features)
  init = lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -bound, bound)
  return nnx.Linear(in_features, out_features, kernel_init=init, bias_init=init, rngs=rngs)


# The values an op's backward pass reads from its forward (conv outputs, max-pool winners). The
# supernet saves only these and recomputes the cheap rest (BatchNorm, ReLU, padding), which cut the
# activations a 3-cell search net keeps for its backward from 5.6 to 1.6 GiB.
SAVED = "saved_for_backward"


class BatchNorm(nnx.BatchNorm):
  """Channel-last BatchNorm with PyTorch's semantics: normalize by the biased batch variance, keep the
  unbiased one in the running statistics.

  It writes its statistics with ``set_value``: flax's indexed update checks the sharding of the new
  value, which on a tracer walks the whole traced program, once per BatchNorm (minutes of tracing for
  a supernet). Statistics are kept in float32 (or wider) under a bfloat16 compute dtype."""

  def __call__(self, x: jax.Array) -> jax.Array:
    # Statistics and normalization in float32 at least (bfloat16 activations are widened here and
    # the output narrowed back); float32 and float64 inputs compute in their own dtype.
    dtype = x.dtype
    x = x.astype(jnp.promote_types(dtype, jnp.float32))
    axes = tuple(range(x.ndim - 1))
    if self.use_running_average:
      mean, var = self.mean.get_value(), self.var.get_value()
    else:
      mean = x.mean(axes)
      var = jnp.square(x - mean).mean(axes)
      count = x.size // x.shape[-1]
      update = lambda old, new: jax.lax.stop_gradient(
          self.momentum * old + (1 - self.momentum) * new)
      self.mean.set_value(update(self.mean.get_value(), mean))
      self.var.set_value(update(self.var.get_value(), var * count / max(count - 1, 1)))
    y = (x - mean) * jax.lax.rsqrt(var + self.epsilon)
    if self.scale is not None:
      y = y * self.scale.get_value() + self.bias.get_value()
    return y.astype(dtype)


def batch_norm(channels: int, *, affine: bool, rngs: nnx.Rngs) -> BatchNorm:
  """BatchNorm with the reference's momentum and epsilon; ``affine=False`` has no scale or bias."""
  return BatchNorm(channels, momentum=BN_MOMENTUM, epsilon=BN_EPSILON, use_scale=affine,
                   use_bias=affine, rngs=rngs)


class Conv(nnx.Module):
  """Bias-free 2D convolution on NHWC with PyTorch's explicit symmetric padding; an HWIO kernel,
  ``[k, k, 1, C]`` when depthwise. The function that computes it is chosen per backend
  (``kernels``)."""

  def __init__(self, in_channels: int, out_channels: int, kernel: int, *, stride: int = 1,
               padding: int = 0, dilation: int = 1, depthwise: bool = False, rngs: nnx.Rngs):
    if depthwise and in_channels != out_channels:
      raise ValueError(f"a depthwise conv keeps its channels, got {in_channels} -> {out_channels}")
    shape = (kernel, kernel, 1, in_channels) if depthwise else (kernel, kernel, in_channels,
                                                                  out_channels)
    self.kernel = nnx.Param(torch_default_init(rngs.params(), shape))
    self.size, self.stride, self.padding, self.dilation = kernel, stride, padding, dilation
    self.depthwise = depthwise

  def __call__(self, x: jax.Array) -> jax.Array:
    y = kernels.conv2d(x, self.kernel[...].astype(x.dtype), stride=self.stride,
                       padding=self.padding, dilation=self.dilation, depthwise=self.depthwise)
    return checkpoint_name(y, SAVED)


def conv(in_channels: int, out_channels: int, kernel: int, *, stride: int = 1, padding: int = 0,
         dilation: int = 1, groups: int = 1, rngs: nnx.Rngs) -> Conv:
  """A bias-free conv; ``groups`` is 1 (dense) or the channel count (depthwise)."""
  if groups not in (1, in_channels):
    raise ValueError(f"only dense or depthwise convs are supported, got groups={groups}")
  return Conv(in_channels, out_channels, kernel, stride=stride, padding=padding,
              dilation=dilation, depthwise=groups > 1,
              rngs=rngs)


def _strided(x: jax.Array, stride: int) -> jax.Array:
  return x[:, ::stride, ::stride, :] if stride > 1 else x


def _pool_divisor(height: int, width: int, stride: int) -> np.ndarray:
  """Number of in-bounds pixels under each 3x3 window (count_include_pad=False), as a constant."""
  def counts(size):
    centres = np.arange(0, size, stride)
    return np.minimum(centres + 1, size - 1) - np.maximum(centres - 1, 0) + 1
  return np.outer(counts(height), counts(width))[None, :, :, None].astype(np.float32)


class ReLUConvBN(nnx.Module):
  """ReLU -> Conv -> BN (DARTS preprocessing; NAS-Bench-201's nor_conv ops)."""

  def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, padding: int,
               *, affine: bool, rngs: nnx.Rngs, dilation: int = 1):
    self.conv = conv(in_channels, out_channels, kernel, stride=stride, padding=padding,
                     dilation=dilation, rngs=rngs)
    self.bn = batch_norm(out_channels, affine=affine, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.bn(self.conv(jax.nn.relu(x)))


class DilConv(nnx.Module):
  """ReLU -> depthwise (dilated) conv -> pointwise conv -> BN."""

  def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, padding: int,
               dilation: int, *, affine: bool, rngs: nnx.Rngs):
    self.depthwise = conv(in_channels, in_channels, kernel, stride=stride, padding=padding,
                          dilation=dilation, groups=in_channels, rngs=rngs)
    self.pointwise = conv(in_channels, out_channels, 1, rngs=rngs)
    self.bn = batch_norm(out_channels, affine=affine, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.bn(self.pointwise(self.depthwise(jax.nn.relu(x))))


class SepConv(nnx.Module):
  """Two stacked DilConvs without dilation: the DARTS separable conv (stride on the first only)."""

  def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, padding: int,
               *, affine: bool, rngs: nnx.Rngs):
    self.first = DilConv(in_channels, in_channels, kernel, stride, padding, 1, affine=affine,
                         rngs=rngs)
    self.second = DilConv(in_channels, out_channels, kernel, 1, padding, 1, affine=affine,
                          rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.second(self.first(x))


class FactorizedReduce(nnx.Module):
  """Halves H x W with two 1x1 stride-2 convs, the second shifted by one pixel, concatenated."""

  def __init__(self, in_channels: int, out_channels: int, *, affine: bool, rngs: nnx.Rngs):
    if out_channels % 2:
      raise ValueError(f"FactorizedReduce needs an even channel count, got {out_channels}")
    self.conv_a = conv(in_channels, out_channels // 2, 1, stride=2, rngs=rngs)
    self.conv_b = conv(in_channels, out_channels // 2, 1, stride=2, rngs=rngs)
    self.bn = batch_norm(out_channels, affine=affine, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    x = jax.nn.relu(x)
    shifted = jnp.pad(x[:, 1:, 1:, :], ((0, 0), (0, 1), (0, 1), (0, 0)))
    return self.bn(jnp.concatenate([self.conv_a(x), self.conv_b(shifted)], axis=-1))


class WithBatchNorm(nnx.Module):
  """``op`` followed by a BatchNorm. The DARTS search cell wraps its pools in one, non-affine
  (quark0/darts ``model_search.py``: ``Sequential(pool, BatchNorm2d(C, affine=False))``), so a pool's
  output is normalized like every other candidate's."""

  def __init__(self, op: nnx.Module, channels: int, *, affine: bool, rngs: nnx.Rngs):
    self.op = op
    self.bn = batch_norm(channels, affine=affine, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.bn(self.op(x))


def drop_path(x: jax.Array, key: jax.Array, rate: jax.Array) -> jax.Array:
  """Zeroes whole examples with probability ``rate`` and scales the kept ones by 1/(1-rate), so the
  expectation is unchanged (the reference's regularizer on non-identity edges)."""
  keep = 1.0 - rate
  mask = jax.random.bernoulli(key, keep, (x.shape[0],) + (1,) * (x.ndim - 1))
  return jnp.where(mask, x / keep, 0.0)


class Zero(nnx.Module):
  """The ``none`` op: zeros of the (strided) input's shape."""

  def __init__(self, stride: int):
    self.stride = stride

  def __call__(self, x: jax.Array) -> jax.Array:
    return jnp.zeros_like(_strided(x, self.stride))  # a constant: no pass over the input


class Identity(nnx.Module):

  def __call__(self, x: jax.Array) -> jax.Array:
    return x


def _first_max(views: list[jax.Array]) -> jax.Array:
  """Elementwise max of ``views``; the gradient goes to the first view holding it. Only the winner
  index (int8) is kept for the backward pass."""
  best, winner = views[0], jnp.zeros(views[0].shape, jnp.int8)
  for index, view in enumerate(views[1:], 1):
    better = view > best
    best = jnp.where(better, view, best)
    winner = jnp.where(better, jnp.int8(index), winner)
  winner = checkpoint_name(jax.lax.stop_gradient(winner), SAVED)
  return sum(jnp.where(winner == index, view, 0.0) for index, view in enumerate(views))


class MaxPool3x3(nnx.Module):
  """3x3 max pool, padding 1 (padding never wins the max). The gradient goes to the first maximal
  element of each window in row-major order, as with ``reduce_window`` and PyTorch.

  Separable: a 3-wide max along rows, then a 3-tall max over those, each a first-wins select over
  three strided views. Ties resolve as in one 3x3 window (the first row holding the max, then the
  first column in it). In a supernet step, the one-pass 3x3 form's gradient was split by XLA:CPU
  into nine fusions that each recomputed the 9-way winner (4 s of a 24 s 3-cell step); select
  rather than ``reduce_window``, whose gradient (select-and-scatter) was 2.8x slower.
  """

  def __init__(self, stride: int):
    self.stride = stride

  def __call__(self, x: jax.Array) -> jax.Array:
    s = self.stride
    padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-jnp.inf)
    out_h, out_w = (x.shape[1] - 1) // s + 1, (x.shape[2] - 1) // s + 1
    rows = _first_max([padded[:, :, j:j + s * (out_w - 1) + 1:s] for j in range(3)])
    return _first_max([rows[:, i:i + s * (out_h - 1) + 1:s] for i in range(3)])


class AvgPool3x3(nnx.Module):
  """3x3 average pool, padding 1, averaging only in-bounds pixels (count_include_pad=False)."""

  def __init__(self, stride: int):
    self.stride = stride

  def __call__(self, x: jax.Array) -> jax.Array:
    # Rows then columns: two 3-tap sums, half the work of one 3x3 window and its gradient.
    s = self.stride
    rows = jax.lax.reduce_window(x, 0.0, jax.lax.add, (1, 3, 1, 1), (1, s, 1, 1),
                                 ((0, 0), (1, 1), (0, 0), (0, 0)))
    total = jax.lax.reduce_window(rows, 0.0, jax.lax.add, (1, 1, 3, 1), (1, 1, s, 1),
                                  ((0, 0), (0, 0), (1, 1), (0, 0)))
    return total / _pool_divisor(x.shape[1], x.shape[2], s).astype(x.dtype)


class ConvBNReLU(nnx.Module):
  """Conv ('same' padding) -> BN -> ReLU: NAS-Bench-101's conv vertices and its 1x1 projections."""

  def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1, *,
               affine: bool, rngs: nnx.Rngs):
    self.conv = conv(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2,
                     rngs=rngs)
    self.bn = batch_norm(out_channels, affine=affine, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    return jax.nn.relu(self.bn(self.conv(x)))
