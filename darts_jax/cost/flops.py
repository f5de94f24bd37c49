"""FLOPs of a forward pass, two ways: XLA's cost analysis of the compiled executable, and an analytic
count of convolutions and dense layers.

Units, stated once: a MAC is one multiply-accumulate; FLOPs = 2 x MACs. The DARTS/ImageNet literature's
"574M FLOPs" counts multiply-adds, i.e. MACs here. The analytic count covers convolutions and dense
layers only (BatchNorm, activations, pooling and additions are left out, as the papers do). XLA's count
includes every op but counts a loop body once: the depthwise convs of ``ops.Conv`` run as a ``scan``
over their kernel taps, so for networks with depthwise convs XLA reports only one tap of each.
"""

from __future__ import annotations

import dataclasses
import math

import jax
from flax import nnx

from darts_jax import ops
from darts_jax.cost import params, trace


def conv_macs(output_shape: tuple[int, ...], kernel: int, in_channels: int, *,
              depthwise: bool = False) -> int:
  """MACs of a bias-free 2D convolution producing NHWC ``output_shape``: every output element sums
  ``kernel^2`` taps over ``in_channels`` (one channel when depthwise)."""
  return math.prod(output_shape) * kernel * kernel * (1 if depthwise else in_channels)


def dense_macs(input_shape: tuple[int, ...], out_features: int) -> int:
  """MACs of a dense layer on ``[..., in_features]`` inputs (the bias adds are not MACs)."""
  return math.prod(input_shape) * out_features


def layer_macs(call: trace.Call) -> int:
  """MACs of one traced ``ops.Conv`` or ``nnx.Linear`` call."""
  if isinstance(call.module, ops.Conv):
    return conv_macs(call.output.shape, call.module.size, call.inputs[0].shape[-1],
                     depthwise=call.module.depthwise)
  return dense_macs(call.inputs[0].shape, call.module.out_features)


def analytic_macs(model: nnx.Module, input_shape: tuple[int, ...]) -> int:
  """MACs of the convolutions and dense layers of one inference forward. Modules applied under
  ``nnx.vmap`` (a supernet's stacked edges) are seen once per group, so use it on fixed networks."""
  return sum(layer_macs(c) for c in trace.traced_calls(model, input_shape, ops.Conv, nnx.Linear))


def xla_cost(fn, *args) -> dict[str, float]:
  """``{'flops', 'bytes_accessed'}`` of ``jax.jit(fn)(*args)`` from XLA's compiled cost analysis."""
  analysis = jax.jit(fn).lower(*args).compile().cost_analysis()
  if isinstance(analysis, list):  # older jax returns one dict per device program
    analysis = analysis[0]
  return {"flops": float(analysis.get("flops", 0.0)),
          "bytes_accessed": float(analysis.get("bytes accessed", 0.0))}


@dataclasses.dataclass(frozen=True)
class Cost:
  """Size and work of one inference forward at a given input shape."""

  params: int
  macs: int
  flops: int  # 2 * macs (analytic)
  xla_flops: float
  bytes_accessed: float

  def to_json(self) -> dict:
    return dataclasses.asdict(self)


def network_cost(model: nnx.Module, input_shape: tuple[int, ...], *,
                 auxiliary: bool = False) -> Cost:
  """Parameters (weights only), analytic MACs/FLOPs and XLA's FLOPs and bytes of ``model``'s
  inference forward on a float32 input of ``input_shape``."""
  fn, state = trace.inference(model)
  xla = xla_cost(fn, state, jax.ShapeDtypeStruct(input_shape, jax.numpy.float32))
  macs = analytic_macs(model, input_shape)
  return Cost(params.count(model, auxiliary=auxiliary), macs, 2 * macs, xla["flops"],
              xla["bytes_accessed"])
