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


def _random_affine(bn, seed):
  k1, k2 = jax.random.split(jax.random.key(seed))
  bn.scale.set_value(1.0 + 0.5 * jax.random.normal(k1, bn.scale[...].shape))
  bn.bias.set_value(jax.random.normal(k2, bn.bias[...].shape))


def _numpy_batch_norm(z, scale, bias):
  """Train-mode BatchNorm: batch mean, biased batch variance, eps 1e-5."""
  mean, var = z.mean(axis=(0, 1, 2)), z.var(axis=(0, 1, 2))
  return (z - mean) / np.sqrt(var + 1e-5) * scale + bias


def test_factorized_reduce_shifts_the_second_branch_by_one_pixel():
  """quark0/darts: y = relu(x), BN(cat(conv_1(y), conv_2(y[:, :, 1:, 1:]))) with 1x1 stride-2
  convs: the first branch reads the even pixels (0, 2, 4), the second the odd ones (1, 3, 5), in
  rows and columns. Written in numpy; a shift on the other branch, in the other direction, or
  none at all gives other values."""
  fr = ops.FactorizedReduce(3, 4, affine=True, rngs=nnx.Rngs(0))
  _random_affine(fr.bn, seed=1)
  x = np.asarray(jax.random.normal(jax.random.key(2), (2, 6, 6, 3)), np.float64)
  y = np.maximum(x, 0.0)
  first = y[:, 0::2, 0::2] @ np.asarray(fr.conv_a.kernel[...])[0, 0]
  second = y[:, 1::2, 1::2] @ np.asarray(fr.conv_b.kernel[...])[0, 0]
  expected = _numpy_batch_norm(np.concatenate([first, second], axis=-1),
                               np.asarray(fr.bn.scale[...]), np.asarray(fr.bn.bias[...]))
  np.testing.assert_allclose(fr(jnp.asarray(x, jnp.float32)), expected, atol=1e-5, rtol=1e-5)


def test_batch_norm_follows_pytorch_in_train_and_eval_mode():
  """Train mode normalizes by the batch mean and biased variance, then keeps 0.9 of the running
  statistics and adds 0.1 of the batch mean and of the unbiased variance (n / (n - 1)); eval mode
  normalizes by the running statistics (PyTorch BatchNorm2d, momentum 0.1, eps 1e-5)."""
  bn = ops.batch_norm(3, affine=True, rngs=nnx.Rngs(0))
  _random_affine(bn, seed=1)
  mean0, var0 = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25, 3.0])
  bn.mean.set_value(jnp.asarray(mean0, jnp.float32))
  bn.var.set_value(jnp.asarray(var0, jnp.float32))
  scale, bias = np.asarray(bn.scale[...]), np.asarray(bn.bias[...])
  x = np.asarray(2.0 * jax.random.normal(jax.random.key(2), (4, 5, 5, 3)) + 1.0, np.float64)
  np.testing.assert_allclose(bn(jnp.asarray(x, jnp.float32)), _numpy_batch_norm(x, scale, bias),
                             atol=1e-5, rtol=1e-5)
  n = 4 * 5 * 5
  running_mean = 0.9 * mean0 + 0.1 * x.mean(axis=(0, 1, 2))
  running_var = 0.9 * var0 + 0.1 * x.var(axis=(0, 1, 2)) * n / (n - 1)
  np.testing.assert_allclose(bn.mean[...], running_mean, rtol=1e-5)
  np.testing.assert_allclose(bn.var[...], running_var, rtol=1e-5)
  # Eval mode, on running variances small enough for eps to matter, and on one image whose own
  # statistics must not be used.
  running_mean, running_var = np.array([0.3, -2.0, 1.0]), np.array([1e-4, 2.0, 4e-5])
  bn.mean.set_value(jnp.asarray(running_mean, jnp.float32))
  bn.var.set_value(jnp.asarray(running_var, jnp.float32))
  other = 0.01 * x[:1] - 1.0
  evaluation = nnx.view(bn, use_running_average=True)
  np.testing.assert_allclose(evaluation(jnp.asarray(other, jnp.float32)),
                             (other - running_mean) / np.sqrt(running_var + 1e-5) * scale + bias,
                             atol=1e-4, rtol=1e-4)


def test_linear_initializes_weight_and_bias_uniformly_in_one_over_sqrt_fan_in():
  """PyTorch nn.Linear: weight and bias U(-1/sqrt(in), 1/sqrt(in)); kernel stored (in, out)."""
  layer = ops.linear(400, 1000, rngs=nnx.Rngs(0))
  bound = 1.0 / np.sqrt(400)
  weight, bias = np.asarray(layer.kernel[...]), np.asarray(layer.bias[...])
  assert weight.shape == (400, 1000) and bias.shape == (1000,)
  for values, n in ((weight, weight.size), (bias, bias.size)):
    # Inside the bounds, reaching them; uniform: std bound/sqrt(3) and half the values inside
    # +-bound/2 (a normal of that std would put 61% there). Tolerances are >= 5 sigma.
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > bound * (1 - 20 / n)
    assert abs(values.mean()) < 5 * bound / np.sqrt(3 * n)
    assert values.std() == pytest.approx(bound / np.sqrt(3), rel=5 * np.sqrt(0.2 / n))
    assert np.mean(np.abs(values) < bound / 2) == pytest.approx(0.5, abs=5 * 0.5 / np.sqrt(n))


def test_every_op_computes_in_float64_under_enable_x64():
  """With x64 enabled (the golden comparisons run in float64), every op returns float64 values that
  carry float64 precision (a float32 result cast up would hold float32 values), and equal the
  float32 computation to float32 precision. (supernet_test checks the DARTS and NAS-Bench-201 ops
  against float64 references to 1e-10.)"""
  with jax.enable_x64(True):
    x = jax.random.normal(jax.random.key(1), (2, 6, 6, 4), jnp.float64)
    for name in ops.names():
      op = ops.get(name)(4, 2, affine=True, rngs=nnx.Rngs(0))  # stride 2: FactorizedReduce too
      y = np.asarray(op(x))
      assert y.dtype == np.float64, name
      if name != "none":
        assert np.any(y != y.astype(np.float32)), f"{name} computed in float32"
      np.testing.assert_allclose(y, op(x.astype(jnp.float32)), atol=1e-4, rtol=1e-4,
                                 err_msg=name)


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
