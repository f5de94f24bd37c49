"""The registered primitive ops of the DARTS, NAS-Bench-201 and NAS-Bench-101 spaces, named and
defined as in the papers' code. Importing ``darts_jax.ops`` registers them."""

from __future__ import annotations

from darts_jax.ops.blocks import (AvgPool3x3, ConvBNReLU, DilConv, FactorizedReduce, Identity,
                                  MaxPool3x3, ReLUConvBN, SepConv, Zero)
from darts_jax.ops.registry import OpFactory, register


@register("none")
def _none(channels, stride, *, affine, rngs):
  del channels, affine, rngs
  return Zero(stride)


@register("skip_connect")
def _skip_connect(channels, stride, *, affine, rngs):
  if stride == 1:
    return Identity()
  return FactorizedReduce(channels, channels, affine=affine, rngs=rngs)


@register("max_pool_3x3")
def _max_pool_3x3(channels, stride, *, affine, rngs):
  del channels, affine, rngs
  return MaxPool3x3(stride)


@register("avg_pool_3x3")
def _avg_pool_3x3(channels, stride, *, affine, rngs):
  del channels, affine, rngs
  return AvgPool3x3(stride)


def _sep_conv(kernel: int) -> OpFactory:
  def factory(channels, stride, *, affine, rngs):
    return SepConv(channels, channels, kernel, stride, kernel // 2, affine=affine, rngs=rngs)
  return factory


def _dil_conv(kernel: int) -> OpFactory:
  def factory(channels, stride, *, affine, rngs):
    return DilConv(channels, channels, kernel, stride, kernel - 1, 2, affine=affine, rngs=rngs)
  return factory


def _nor_conv(kernel: int) -> OpFactory:
  def factory(channels, stride, *, affine, rngs):
    return ReLUConvBN(channels, channels, kernel, stride, kernel // 2, affine=affine, rngs=rngs)
  return factory


register("sep_conv_3x3")(_sep_conv(3))
register("sep_conv_5x5")(_sep_conv(5))
register("dil_conv_3x3")(_dil_conv(3))
register("dil_conv_5x5")(_dil_conv(5))
register("nor_conv_1x1")(_nor_conv(1))
register("nor_conv_3x3")(_nor_conv(3))


# ----------------------------------------------------------------------------------------------
# NAS-Bench-101's vertex ops (google-research/nasbench ``base_ops.py``), named as that benchmark
# names them: Conv -> BN -> ReLU, and 3x3 pools that keep the channels.


def _conv_bn_relu(kernel: int) -> OpFactory:
  def factory(channels, stride, *, affine, rngs):
    return ConvBNReLU(channels, channels, kernel, stride, affine=affine, rngs=rngs)
  return factory


register("conv1x1-bn-relu")(_conv_bn_relu(1))
register("conv3x3-bn-relu")(_conv_bn_relu(3))
register("conv5x5-bn-relu")(_conv_bn_relu(5))
register("maxpool3x3")(_max_pool_3x3)
register("avgpool3x3")(_avg_pool_3x3)
