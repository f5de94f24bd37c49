"""Op registry and primitive ops: the contract every registered op meets, and reference checks."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from darts_jax import ops


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("name", ops.names())
def test_every_op_keeps_or_halves_resolution(name, stride):
  op = ops.get(name)(8, stride, affine=False, rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.key(1), (2, 9, 8, 8))
  y = nnx.jit(lambda op, x: op(x))(op, x)
  chex.assert_shape(y, (2, 9 if stride == 1 else 5, 8 if stride == 1 else 4, 8))
  assert y.dtype == x.dtype
  chex.assert_tree_all_finite(y)


def test_registering_a_taken_name_raises():
  with pytest.raises(ValueError, match="already registered"):
    ops.register("sep_conv_3x3")(lambda *a, **k: None)


def test_unknown_name_lists_known_ops_and_closest_match():
  with pytest.raises(KeyError) as info:
    ops.get("sep_conv_3x4")
  message = str(info.value)
  assert "'sep_conv_3x3'" in message and "Did you mean" in message and "max_pool_3x3" in message


def test_temporary_ops_are_removed_afterwards():
  with ops.temporary_ops(my_op=lambda c, s, *, affine, rngs: ops.Identity()):
    assert "my_op" in ops.names()
  assert "my_op" not in ops.names()


def _lax_conv(x, kernel, stride, padding, dilation, groups):
  return jax.lax.conv_general_dilated(
      x, kernel, (stride, stride), ((padding, padding), (padding, padding)),
      rhs_dilation=(dilation, dilation), dimension_numbers=("NHWC", "HWIO", "NHWC"),
      feature_group_count=groups)


@pytest.mark.parametrize("kernel,stride,padding,dilation,depthwise", [
    (3, 1, 1, 1, False), (3, 2, 1, 1, False), (1, 2, 0, 1, False), (3, 1, 1, 1, True),
    (5, 2, 2, 1, True), (3, 1, 2, 2, True), (5, 2, 4, 2, True)])
def test_conv_matches_lax_conv_forward_and_gradients(kernel, stride, padding, dilation, depthwise):
  channels = 6
  conv = ops.Conv(channels, channels, kernel, stride=stride, padding=padding, dilation=dilation,
                  depthwise=depthwise, rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.key(2), (2, 9, 10, channels))
  w = conv.kernel[...]
  groups = channels if depthwise else 1
  graphdef, state = nnx.split(conv)

  def ours(x, w):
    traced = nnx.merge(graphdef, state, copy=True)
    traced.kernel[...] = w
    return jnp.sum(jnp.sin(traced(x)))

  def reference(x, w):
    return jnp.sum(jnp.sin(_lax_conv(x, w, stride, padding, dilation, groups)))

  chex.assert_trees_all_close(jax.grad(ours, (0, 1))(x, w), jax.grad(reference, (0, 1))(x, w),
                              atol=1e-4, rtol=1e-4)
  chex.assert_trees_all_close(conv(x), _lax_conv(x, w, stride, padding, dilation, groups),
                              atol=1e-5, rtol=1e-5)


def test_avg_pool_excludes_padding_from_the_count():
  x = jnp.arange(16.0).reshape(1, 4, 4, 1)
  y = ops.AvgPool3x3(1)(x)
  assert float(y[0, 0, 0, 0]) == pytest.approx(np.mean([0, 1, 4, 5]))
  assert float(y[0, 1, 1, 0]) == pytest.approx(np.mean([0, 1, 2, 4, 5, 6, 8, 9, 10]))


def test_factorized_reduce_uses_both_pixel_phases():
  fr = ops.FactorizedReduce(2, 4, affine=False, rngs=nnx.Rngs(0))
  x = jnp.zeros((1, 4, 4, 2)).at[0, 1, 1, :].set(1.0)  # only the odd phase sees this pixel
  y = fr(x)
  chex.assert_shape(y, (1, 2, 2, 4))
  assert float(jnp.abs(y[..., 2:]).sum()) > 0


def test_affine_flag_controls_batch_norm_parameters():
  with_affine = ops.get("sep_conv_3x3")(4, 1, affine=True, rngs=nnx.Rngs(0))
  without = ops.get("sep_conv_3x3")(4, 1, affine=False, rngs=nnx.Rngs(0))
  count = lambda m: sum(x.size for x in jax.tree.leaves(nnx.state(m, nnx.Param)))
  assert count(with_affine) - count(without) == 4 * 4  # scale + bias of two BNs of 4 channels


@pytest.mark.parametrize("size,stride", [(1, 1), (5, 1), (6, 2), (7, 2)])
def test_max_pool_matches_reduce_window_in_value_and_gradient(size, stride):
  x = jax.random.normal(jax.random.key(size), (2, size, size, 3))
  window = lambda x: jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 3, 3, 1),
                                           (1, stride, stride, 1), ((0, 0), (1, 1), (1, 1), (0, 0)))
  ours = ops.MaxPool3x3(stride)
  chex.assert_trees_all_close(ours(x), window(x))
  loss = lambda pool: jax.grad(lambda x: jnp.sum(jnp.sin(pool(x))))(x)
  chex.assert_trees_all_close(loss(ours), loss(window))


@pytest.mark.parametrize("size,stride", [(1, 1), (2, 2), (3, 2), (5, 1)])
def test_avg_pool_on_tiny_inputs_is_a_true_average(size, stride):
  y = ops.AvgPool3x3(stride)(jnp.ones((1, size, size, 2)))
  chex.assert_trees_all_close(y, jnp.ones_like(y))


@pytest.mark.parametrize("stride", [1, 2])
def test_max_pool_ties_send_the_gradient_where_reduce_window_does(stride):
  """Small integers make most windows hold several maxima: the gradient must pick the same one."""
  x = jax.random.randint(jax.random.key(stride), (2, 7, 7, 3), 0, 3).astype(jnp.float32)
  window = lambda x: jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 3, 3, 1),
                                           (1, stride, stride, 1), ((0, 0), (1, 1), (1, 1), (0, 0)))
  ours = ops.MaxPool3x3(stride)
  weights = jax.random.normal(jax.random.key(9), ours(x).shape)  # every output's gradient distinct
  grad = lambda pool: jax.grad(lambda x: jnp.sum(weights * pool(x)))(x)
  chex.assert_trees_all_close(ours(x), window(x))
  chex.assert_trees_all_close(grad(ours), grad(window))
