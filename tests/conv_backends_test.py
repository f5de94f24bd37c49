"""Convolution kernels per backend (``ops.kernels``): the CPU form and ``lax.conv_general_dilated``
agree on every registered op -- value, BatchNorm statistics, gradient (input and weights) and
forward-mode derivative, float32 and float64, vmapped over a group of edges as the supernet runs
them -- and on a tiny supernet's exact second-order hypergradient and the reference's NetworkCIFAR
logits. ``auto`` lowers to the CPU form for CPU and to the backend's convolution for GPU and TPU,
and the override is part of jax's cache key. Written for CPU; the comparisons hold on any backend
(at full float32 matmul precision)."""

import functools
import os
import pathlib
import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from darts_jax import (architects, compiling, genotypes, ops, optim, pytorch_weights, spaces,
                       supernet, variables)
from darts_jax.supernet import mixed

jit = functools.partial(jax.jit, compiler_options=compiling.QUICK_COMPILE) if (
    jax.default_backend() == "cpu") else jax.jit
EDGES, BATCH, SIZE, CHANNELS = 2, 2, 7, 4  # an odd size: stride 2 rounds up


def _has_conv(module: nnx.Module) -> bool:
  return any(isinstance(node, ops.Conv) for _, node in nnx.iter_graph(module))


def _random_like(seed, tree):
  """Standard normal arrays of the shapes and dtypes of ``tree``'s leaves (numpy's generator: no
  compiled program per shape)."""
  rng = np.random.default_rng(seed)
  return jax.tree.map(lambda x: jnp.asarray(rng.standard_normal(x.shape), x.dtype), tree)


def _assert_close(actual, expected, rtol, what):
  """Every leaf: ``max|actual - expected| <= rtol * max(max|expected|, 1)``."""
  for path, a, e in zip(*zip(*jax.tree_util.tree_flatten_with_path(actual)[0]),
                        jax.tree.leaves(expected)):
    a, e = np.asarray(a), np.asarray(e)
    error, scale = np.abs(a - e).max(initial=0.0), max(np.abs(e).max(initial=0.0), 1.0)
    assert error <= rtol * scale, (f"{what} {jax.tree_util.keystr(path)}: max error {error:.3g} > "
                                   f"{rtol:g} x {scale:.3g}")


def _edge_group(name, stride, dtype):
  """``(apply, run, args, has_conv)`` of op ``name`` over ``EDGES`` stacked edges.

  ``apply(weights, x)`` is the group's ``(output, new state)`` (``mixed._apply_pure``, as the
  supernet applies a group); ``run(weights, x, cotangent, tangents)`` gives the output, the new
  BatchNorm statistics, the gradient of ``<output, cotangent>`` w.r.t. weights and input, and the
  jvp along ``tangents``."""
  op = mixed.stacked_op(name, CHANNELS, stride, EDGES, affine=False, rngs=nnx.Rngs(0))
  graphdef, weights, rest = nnx.split(op, nnx.Param, ...)
  weights, rest = jax.tree.map(lambda v: jnp.asarray(v, dtype), (weights, rest))
  x = _random_like(1, jax.ShapeDtypeStruct((EDGES, BATCH, SIZE, SIZE, CHANNELS), dtype))

  def apply(weights, x):
    return mixed._apply_pure(graphdef, nnx.merge_state(weights, rest), x)

  def run(weights, x, cotangent, tangents):
    (y, state), pullback = jax.vjp(apply, weights, x)
    grads = pullback((cotangent, jax.tree.map(jnp.zeros_like, state)))
    _, derivative = jax.jvp(lambda w, x: apply(w, x)[0], (weights, x), tangents)
    return y, nnx.state(state, nnx.BatchStat), grads, derivative

  cotangent = _random_like(2, jax.eval_shape(apply, weights, x)[0])
  tangents = _random_like(3, (weights, x))
  return apply, run, (weights, x, cotangent, tangents), _has_conv(op)


def _cases(dtype):
  """``{"name/stride": (apply, run, args, has_conv)}``: every registered op at both strides in
  float32; in float64, those whose module holds a convolution."""
  cases = {f"{name}/{stride}": _edge_group(name, stride, dtype)
           for name in ops.names() for stride in (1, 2)}
  return cases if dtype == jnp.float32 else {k: v for k, v in cases.items() if v[3]}


@pytest.mark.parametrize("dtype,rtol", [(jnp.float32, 1e-5), (jnp.float64, 1e-12)])
def test_every_op_agrees_under_both_forms(dtype, rtol):
  """Output, BatchNorm statistics, gradients and jvp of every case, as one program per form (one
  compilation each: per-case programs took 3x longer to compile). Full float32 precision: TF32
  (a GPU's default) would differ by more than the tolerance."""
  with jax.enable_x64(dtype == jnp.float64), jax.default_matmul_precision("highest"):
    cases = _cases(dtype)
    with ops.conv_implementation("lax"):
      for key, (apply, _, (weights, x, _, _), has_conv) in cases.items():
        traced = str(jax.make_jaxpr(apply)(weights, x))
        assert ("conv_general_dilated" in traced) == has_conv, key
    run_all = jit(lambda args: {k: case[1](*args[k]) for k, case in cases.items()})
    args = {k: case[2] for k, case in cases.items()}
    results = {}
    for impl in ("cpu", "lax"):
      with ops.conv_implementation(impl):
        lowered = run_all.lower(args)
        assert ("stablehlo.convolution" in lowered.as_text()) == (impl == "lax")
        results[impl] = lowered.compile()(args)
  for key in cases:
    assert results["cpu"][key][0].dtype == dtype
    _assert_close(results["lax"][key], results["cpu"][key], rtol,
                  f"{key} (output, stats, grads, jvp)")


def _optimized_hlo(compiled) -> str:
  """A compiled program's optimized HLO without its debug tables and source locations."""
  text = compiled.as_text()
  text = text[text.index("\n%"):]  # after the file, function and stack-frame tables
  return re.sub(r"metadata=\{[^}]*\}|,? ?stack_frame_id=\d+", "", text)


def test_auto_is_the_cpu_form_for_cpu_and_convolutions_elsewhere():
  """One traced function lowered for each platform (exported: no accelerator needed). The CPU
  program holds no convolution, and compiles to the very program the CPU form alone gives; GPU
  and TPU programs run the dense, dilated and depthwise convs as convolutions."""
  apply, _, (weights, x, _, _), _ = _edge_group("sep_conv_3x3", 2, jnp.float32)
  gradient = jax.jit(jax.grad(lambda w, x: jnp.sum(jnp.square(apply(w, x)[0])), argnums=(0, 1)))
  for platform, convolutions in (("cpu", False), ("cuda", True), ("rocm", True), ("tpu", True)):
    text = jax.export.export(gradient, platforms=(platform,))(weights, x).mlir_module()
    assert ("stablehlo.convolution" in text) == convolutions, platform
  with ops.conv_implementation("lax"):  # an override holds on every platform
    assert "stablehlo.convolution" in jax.export.export(gradient, platforms=("cpu",))(
        weights, x).mlir_module()
  with ops.conv_implementation("cpu"):
    assert "stablehlo.convolution" not in jax.export.export(gradient, platforms=("tpu",))(
        weights, x).mlir_module()
    cpu_form = _optimized_hlo(gradient.lower(weights, x).compile())
  if jax.default_backend() == "cpu":
    assert _optimized_hlo(gradient.lower(weights, x).compile()) == cpu_form


def test_the_override_is_read_at_trace_time_and_keys_jax_caches():
  """A jitted function (and the supernet's jitted group apply inside it) called under another
  implementation is traced again, not served from the cache the first one filled."""
  apply, _, (weights, x, _, _), _ = _edge_group("sep_conv_3x3", 1, jnp.float32)
  traces = []

  @jax.jit
  def forward(weights, x):
    traces.append(ops.current_conv_implementation())
    return apply(weights, x)[0]

  lowered = lambda: forward.lower(weights, x).as_text()
  auto_convolves = jax.default_backend() != "cpu"
  assert ("convolution" in lowered()) == auto_convolves
  with ops.conv_implementation("lax"):
    assert "convolution" in lowered()
    assert ops.current_conv_implementation() == "lax"
  with ops.conv_implementation("cpu"):
    assert "convolution" not in lowered()
  assert ("convolution" in lowered()) == auto_convolves
  assert traces == ["auto", "lax", "cpu"]
  assert ops.current_conv_implementation() == "auto"
  with pytest.raises(ValueError, match="unknown conv implementation 'xla'"):
    ops.conv_implementation("xla")


def test_set_conv_implementation_sets_the_process_default():
  try:
    ops.set_conv_implementation("lax")
    assert ops.current_conv_implementation() == "lax"
    with ops.conv_implementation("cpu"):
      assert ops.current_conv_implementation() == "cpu"
    assert ops.current_conv_implementation() == "lax"
  finally:
    ops.set_conv_implementation("auto")
  assert ops.current_conv_implementation() == "auto"


# ----------------------------------------------------------------------------------------------
# A supernet's exact hypergradient and the reference's NetworkCIFAR, under both forms.


def test_exact_second_order_hypergradient_of_a_supernet_agrees_under_both_forms():
  """A 2-cell DARTS supernet (two reduction cells: stem conv, 1x1 preprocessing, factorized
  reduce, dilated depthwise convs at stride 2) in float64: the hypergradient differentiates
  through a weight gradient."""
  with jax.enable_x64(True):
    space = spaces.get("darts_cnn", op_names=("skip_connect", "dil_conv_3x3"), steps=1,
                       multiplier=1)
    net = supernet.build(space, rngs=nnx.Rngs(0), channels=2, layers=2, num_classes=3)
    graphdef, arch, weights, stats = variables.split(net)
    arch, weights, stats = jax.tree.map(lambda v: jnp.asarray(v, jnp.float64),
                                        (arch, weights, stats))
    arch = _random_like(3, arch)  # away from uniform
    rng = np.random.default_rng(1)
    batch = lambda: {"image": jnp.asarray(rng.standard_normal((2, 8, 8, 3))),
                     "label": jnp.asarray(rng.integers(0, 3, 2))}
    train, val = batch(), batch()

    def loss_fn(a, w, b):
      logits = nnx.merge(graphdef, a, w, stats, copy=True)(b["image"])
      return optax.softmax_cross_entropy_with_integer_labels(logits, b["label"]).mean(), logits

    schedule = lambda count: 0.5
    virtual = optim.virtual_step(schedule, optim.weight_optimizer(schedule).init(weights),
                                 momentum=0.9, weight_decay=3e-4)
    hypergradient = jit(lambda a, w: architects.second_order(loss_fn, a, w, train, val,
                                                             virtual_step=virtual)[0])
    results = {}
    for impl in ("cpu", "lax"):
      with ops.conv_implementation(impl):
        results[impl] = jax.tree.map(np.asarray, hypergradient(arch, weights))
  assert np.abs(results["cpu"]["alphas"]["reduce"]).max() > 1e-3
  _assert_close(results["lax"], results["cpu"], 1e-12, "exact hypergradient")


GOLDEN = pathlib.Path(os.environ.get("DARTS_JAX_GOLDEN")
                      or pathlib.Path(__file__).resolve().parent / "golden")


def test_network_cifar_logits_under_the_lax_form_match_the_reference():
  """tests/golden_test.py's first NetworkCIFAR check (train-mode logits, float64, 1e-10) run with
  ``lax.conv_general_dilated`` convs."""
  path = GOLDEN / "darts_reference.npz"
  if not path.is_file():
    pytest.skip(f"golden data {path} not found; set DARTS_JAX_GOLDEN to the folder holding it")
  with np.load(path) as archive:
    ref = {k: archive[k] for k in archive.files if k.startswith(("config/", "eval_net/"))}
  cfg = lambda name: int(ref[f"config/{name}"])
  with jax.enable_x64(True):
    images = ref["eval_net/images"]
    model = supernet.fixed(genotypes.PUBLISHED["DARTS_V2"], setting="cifar",
                           channels=cfg("eval_C"), layers=cfg("eval_layers"),
                           num_classes=cfg("num_classes"), in_channels=images.shape[1],
                           rngs=nnx.Rngs(cfg("seed")))
    state = {k[len("eval_net/state/"):]: v for k, v in ref.items()
             if k.startswith("eval_net/state/") and "auxiliary" not in k}
    pytorch_weights.load_state_dict(model, state, dtype=np.float64)
    graphdef, variables_ = nnx.split(model)
    forward = jit(lambda v, x: nnx.merge(graphdef, v, copy=True)(x))
    with ops.conv_implementation("lax"):
      logits = np.asarray(forward(variables_, jnp.asarray(images.transpose(0, 2, 3, 1))))
  expected = ref["eval_net/logits_train_mode"]
  error, scale = np.abs(logits - expected).max(), np.abs(expected).max()
  assert error <= 1e-10 * scale, f"max error {error:.3g} > 1e-10 x {scale:.3g}"


@pytest.mark.parametrize("impl", ["lax", "cpu"])
def test_the_config_field_chooses_the_form_for_a_whole_search_and_retraining(impl, tmp_path):
  """``--config.conv_implementation`` holds while a run traces its programs (read here from the
  run's first report line, before anything compiles)."""
  from darts_jax import retrain, search
  from experiments.configs import nb201_digits, retrain as retrain_config

  seen = []

  def stop(line):
    seen.append(ops.current_conv_implementation())
    raise KeyboardInterrupt

  for run, config in ((search.run, nb201_digits.get_config("quick")),
                      (retrain.train_and_evaluate, retrain_config.get_config("quick"))):
    config.conv_implementation, config.tensorboard = impl, False
    with pytest.raises(KeyboardInterrupt):
      run(config, str(tmp_path / str(len(seen))), report=stop)
  assert seen == [impl, impl] and ops.current_conv_implementation() == "auto"
