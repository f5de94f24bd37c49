"""Ops: the registry, the primitive ops of the DARTS, NAS-Bench-201 and NAS-Bench-101 spaces
(NHWC), and the blocks they are made of.

  registry.py     register / get / names / check_known / temporary_ops
  blocks.py       modules: BatchNorm, Conv, ReLUConvBN, DilConv, SepConv, pools, ...
  primitives.py   the registered ops (``sep_conv_3x3``, ``nor_conv_3x3``, ``conv3x3-bn-relu``, ...)
  kernels/        convolution kernels per backend (``cpu``, ``lax``), picked when the program is
                  lowered; ``conv_implementation('lax' | 'cpu' | 'auto')`` overrides the choice

Every op is built by a factory ``(channels, stride, *, affine, rngs) -> nnx.Module`` that keeps
H x W at stride 1 and halves it (rounding up) at stride 2. The supernet calls factories with
``affine=False``, fixed networks with ``affine=True``: one definition serves both.
"""

from darts_jax.ops import primitives  # noqa: F401 (importing it registers the primitive ops)
from darts_jax.ops.blocks import (BN_EPSILON, BN_MOMENTUM, SAVED, AvgPool3x3, BatchNorm, Conv,
                                  ConvBNReLU, DilConv, FactorizedReduce, Identity, MaxPool3x3,
                                  ReLUConvBN, SepConv, WithBatchNorm, Zero, batch_norm, conv,
                                  drop_path, linear, torch_default_init)
from darts_jax.ops.kernels import IMPLEMENTATIONS as CONV_IMPLEMENTATIONS
from darts_jax.ops.kernels import (conv_implementation, current_conv_implementation,
                                   set_conv_implementation)
from darts_jax.ops.registry import (OpFactory, UnknownOpError, check_known, get, names, register,
                                    temporary_ops)

__all__ = [
    "AvgPool3x3", "BN_EPSILON", "BN_MOMENTUM", "BatchNorm", "CONV_IMPLEMENTATIONS", "Conv",
    "ConvBNReLU", "DilConv", "FactorizedReduce", "Identity", "MaxPool3x3", "OpFactory",
    "ReLUConvBN", "SAVED", "SepConv", "UnknownOpError", "WithBatchNorm", "Zero", "batch_norm",
    "check_known", "conv", "conv_implementation", "current_conv_implementation", "drop_path", "get",
    "linear", "names", "register", "set_conv_implementation", "temporary_ops", "torch_default_init",
]
