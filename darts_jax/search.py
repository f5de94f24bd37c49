"""Bilevel architecture search: the jitted search step and the search loop ``run(config, workdir)``."""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax import nnx

from darts_jax import (architects, checkpoint, compiling, data, diagnostics, genotypes, methods,
                       ops, optim, parallel, precision, runlog, spaces, supernet, variables)
from darts_jax import config_schema as cs
from darts_jax import progress as progress_lib
from darts_jax import workdir as workdir_lib
from darts_jax.supernet import mixed
from darts_jax.cost import objective


class SearchState(NamedTuple):
  """Everything a search needs to continue bit-exactly."""

  step: jax.Array
  arch: Any
  weights: Any
  stats: Any
  arch_opt: Any
  weight_opt: Any
  key: jax.Array


@dataclasses.dataclass
class SearchResult:
  genotype: genotypes.Genotype
  alphas: dict[str, np.ndarray]
  history: list[dict]


# The order of the two updates in one search iteration.
STEP_ORDERS = ("alphas_first", "weights_first")


def mixing_loss(graphdef, compute_dtype: str = "float32"):
  """``loss(mixing, arch, weights, stats, batch) -> (loss, (new_stats, logits))``: the supernet's
  cross entropy with its cells mixing by the given weights. Activations are ``compute_dtype``;
  weights, BatchNorm statistics, the loss and every gradient stay float32 (``precision``)."""
  def loss(mixing, arch, weights, stats, batch):
    model = nnx.merge(graphdef, arch, weights, stats, copy=True)
    logits = precision.outputs(model(precision.activations(batch["image"], compute_dtype), mixing))
    value = optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"]).mean()
    return value, (nnx.state(model, nnx.BatchStat), logits)
  return loss


def alphas_in(arch) -> dict[str, jax.Array]:
  """``{label: alphas}`` of a supernet's arch state (traceable)."""
  return dict(nnx.to_pure_dict(arch)["alphas"])


def cross_entropy_loss(graphdef, relax=methods.softmax_all, compute_dtype: str = "float32"):
  """``loss(arch, weights, stats, batch, key=None, hyper=None) -> (loss, (new_stats, logits))`` of
  a split supernet whose cells mix by ``relax(alphas, key, hyper)`` (a method's relaxation)."""
  forward = mixing_loss(graphdef, compute_dtype)

  def loss(arch, weights, stats, batch, key=None, hyper=None):
    return forward(relax(alphas_in(arch), key, hyper or {}), arch, weights, stats, batch)
  return loss


def mixing_weights(alphas, method: methods.Method | None = None, hyper=None) -> dict[str, jax.Array]:
  """``{label: mixing weights}`` the genotype is parsed from: the method's deterministic weights
  (DARTS: the softmax) of a supernet's alphas (an ``nnx.Dict`` of ArchParams or a dict of arrays)."""
  method = method or methods.get("darts")
  return method.expected({label: jnp.asarray(a[...]) for label, a in alphas.items()}, hyper or {})


def _accuracy(logits, labels):
  return jnp.mean(jnp.argmax(logits, -1) == labels)


def method_of(config) -> methods.Method:
  return methods.get(config.get("method", "darts"), config.get("method_options") or {})


def make_steps(graphdef, config: ml_collections.ConfigDict, schedule,
               method: methods.Method | None = None):
  """The pure ``(alpha_step, weight_step)`` pair of ``method`` (default: the config's). An alpha
  step leaves weights and BatchNorm statistics untouched; a weight step leaves alphas untouched.
  Both take an optional PRNG ``key`` (default: the state's) and the schedules' ``hyper`` values."""
  method = method or method_of(config)
  dtype = config.get("compute_dtype", "float32")
  forward = mixing_loss(graphdef, dtype)
  loss = cross_entropy_loss(graphdef, method.relax, dtype)
  hypergradient = architects.get(config.architect)
  alpha_tx, weight_tx = optimizers(config, schedule)
  cost_penalty = objective.search_penalty(config)  # None unless config.cost.weight is set

  def penalties(key, hyper):
    """``arch -> scalar``: the method's and the cost's penalties on the alphas (0 without any)."""
    def value(a):
      total = 0.0
      if method.alpha_penalty is not None:
        total = total + method.alpha_penalty(alphas_in(a), method.relax(alphas_in(a), key, hyper),
                                             hyper)
      if cost_penalty is not None:
        total = total + cost_penalty(a)
      return total
    return value

  def alpha_loss(stats, key, hyper):
    """``(arch, weights, batch) -> (loss, aux)`` the alphas descend: BatchNorm statistics frozen,
    plus the method's and the cost's penalties."""
    value = lambda a, w, b: loss(a, w, stats, b, key, hyper)
    if method.alpha_penalty is None and cost_penalty is None:
      return value
    return objective.with_penalty(value, penalties(key, hyper))

  def alpha_step(state: SearchState, train_batch, val_batch, key=None, hyper=None):
    key, hyper = state.key if key is None else key, hyper or {}
    virtual = optim.virtual_step(schedule, state.weight_opt, momentum=config.weights.momentum,
                                 weight_decay=config.weights.weight_decay)
    grads, (val_loss, (_, logits)) = hypergradient(
        alpha_loss(state.stats, key, hyper), state.arch, state.weights, train_batch, val_batch,
        virtual_step=virtual)
    penalty = penalties(key, hyper)(state.arch)  # depends on the alphas only
    updates, arch_opt = alpha_tx.update(grads, state.arch_opt, state.arch)
    state = state._replace(arch=optax.apply_updates(state.arch, updates), arch_opt=arch_opt)
    # val_loss is the cross entropy; the penalties are reported on their own.
    metrics = {"val_loss": val_loss - penalty, "val_acc": _accuracy(logits, val_batch["label"])}
    if method.alpha_penalty is not None or cost_penalty is not None:
      metrics["alpha_penalty"] = penalty
    return state, metrics

  def weight_loss(weights, state, batch, key, hyper):
    if method.perturb is None:
      return loss(state.arch, weights, state.stats, batch, key, hyper)
    relax_key, perturb_key = jax.random.split(key)
    mixing = jax.lax.stop_gradient(method.relax(alphas_in(state.arch), relax_key, hyper))
    mixing = method.perturb(mixing, perturb_key, hyper, lambda m: forward(
        m, state.arch, jax.lax.stop_gradient(weights), state.stats, batch)[0])
    return forward(jax.lax.stop_gradient(mixing), state.arch, weights, state.stats, batch)

  def weight_step(state: SearchState, train_batch, key=None, hyper=None):
    key, hyper = state.key if key is None else key, hyper or {}
    (train_loss, (stats, logits)), grads = jax.value_and_grad(weight_loss, has_aux=True)(
        state.weights, state, train_batch, key, hyper)
    updates, weight_opt = weight_tx.update(grads, state.weight_opt, state.weights)
    state = state._replace(step=state.step + 1, weights=optax.apply_updates(state.weights, updates),
                           stats=stats, weight_opt=weight_opt)
    return state, {"train_loss": train_loss, "train_acc": _accuracy(logits, train_batch["label"])}

  return alpha_step, weight_step


def make_joint_step(graphdef, config, schedule, method: methods.Method):
  """SNAS-style: weights and alphas descend one training-batch loss (the alphas' with the method's
  penalty and the config's cost term, as the alpha step has them) from the same forward pass."""
  loss = cross_entropy_loss(graphdef, method.relax, config.get("compute_dtype", "float32"))
  alpha_tx, weight_tx = optimizers(config, schedule)
  cost_penalty = objective.search_penalty(config)  # None unless config.cost.weight is set

  def step(state: SearchState, train_batch, val_batch, key, hyper):
    def value(arch, weights):
      total, aux = loss(arch, weights, state.stats, train_batch, key, hyper)
      if method.alpha_penalty is not None:
        total = total + method.alpha_penalty(alphas_in(arch), method.relax(alphas_in(arch), key,
                                                                           hyper), hyper)
      if cost_penalty is not None:
        total = total + cost_penalty(arch)
      return total, aux
    (train_loss, (stats, logits)), (arch_grads, weight_grads) = jax.value_and_grad(
        value, argnums=(0, 1), has_aux=True)(state.arch, state.weights)
    arch_updates, arch_opt = alpha_tx.update(arch_grads, state.arch_opt, state.arch)
    weight_updates, weight_opt = weight_tx.update(weight_grads, state.weight_opt, state.weights)
    val_loss, (_, val_logits) = loss(state.arch, state.weights, state.stats, val_batch, key, hyper)
    state = state._replace(step=state.step + 1, arch=optax.apply_updates(state.arch, arch_updates),
                           weights=optax.apply_updates(state.weights, weight_updates), stats=stats,
                           arch_opt=arch_opt, weight_opt=weight_opt)
    return state, {"train_loss": train_loss, "train_acc": _accuracy(logits, train_batch["label"]),
                   "val_loss": val_loss, "val_acc": _accuracy(val_logits, val_batch["label"])}

  return step


def make_search_step(graphdef, config: ml_collections.ConfigDict, schedule,
                     method: methods.Method | None = None):
  """One search iteration as one pure function to jit, ``step(state, train_batch, val_batch,
  hyper=None)``: by ``config.step_order``, an alpha step on a validation batch then a weight step
  on a training batch (``alphas_first``, quark0/darts ``train_search.py``), or the weight step first
  (``weights_first``, NAS-Bench-201's DARTS runs); one joint step for a ``joint`` method. Each step
  draws fresh keys from the state's."""
  if config.step_order not in STEP_ORDERS:
    raise ValueError(f"unknown step_order {config.step_order!r}; choose one of {STEP_ORDERS}")
  method = method or method_of(config)
  default_hyper = method.hyper(0, config.epochs)
  if method.joint:
    joint = make_joint_step(graphdef, config, schedule, method)
  else:
    alpha_step, weight_step = make_steps(graphdef, config, schedule, method)

  def step(state: SearchState, train_batch, val_batch, hyper=None):
    hyper = default_hyper if hyper is None else hyper
    key, alpha_key, weight_key = jax.random.split(state.key, 3)
    state = state._replace(key=key)
    if method.joint:
      return joint(state, train_batch, val_batch, weight_key, hyper)
    def gated_alpha_step(state):
      new, metrics = alpha_step(state, train_batch, val_batch, alpha_key, hyper)
      if "train_alphas" in hyper:  # a weights-only warm-up keeps alphas and their optimizer
        keep = lambda a, b: jax.tree.map(lambda x, y: jnp.where(hyper["train_alphas"] > 0, x, y),
                                         a, b)
        new = new._replace(arch=keep(new.arch, state.arch),
                           arch_opt=keep(new.arch_opt, state.arch_opt))
      return new, metrics

    if config.step_order == "alphas_first":
      state, val_metrics = gated_alpha_step(state)
      state, train_metrics = weight_step(state, train_batch, weight_key, hyper)
    else:
      state, train_metrics = weight_step(state, train_batch, weight_key, hyper)
      state, val_metrics = gated_alpha_step(state)
    return state, {**train_metrics, **val_metrics}

  return step


def optimizers(config, schedule):
  alpha_tx = optim.alpha_optimizer(config.alphas.lr, b1=config.alphas.b1, b2=config.alphas.b2,
                                   weight_decay=config.alphas.weight_decay,
                                   clip_norm=config.alphas.get("clip_norm", 0.0))
  weight_tx = optim.weight_optimizer(schedule, momentum=config.weights.momentum,
                                     weight_decay=config.weights.weight_decay,
                                     clip_norm=config.weights.clip_norm,
                                     nesterov=config.weights.get("nesterov", False))
  return alpha_tx, weight_tx


def build_space(config) -> spaces.SearchSpace:
  kwargs = {"op_names": tuple(config.ops)} if config.get("ops") else {}
  return spaces.get(config.space, **kwargs)


def init_state(config, dataset: data.Dataset, schedule, mesh=None):
  """Builds the supernet; returns ``(graphdef, space, state)``, the state replicated over ``mesh``
  (default: every device, ``parallel.mesh()``)."""
  space = build_space(config)
  network = {**config.network.to_dict(), **method_of(config).network}
  model = supernet.build(space, rngs=nnx.Rngs(config.seed), num_classes=dataset.num_classes,
                         in_channels=dataset.image_shape[-1], **network)
  graphdef, arch, weights, stats = variables.split(model)
  alpha_tx, weight_tx = optimizers(config, schedule)
  state = SearchState(jnp.zeros((), jnp.int32), arch, weights, stats, alpha_tx.init(arch),
                      weight_tx.init(weights), jax.random.PRNGKey(config.seed))
  # Committed to the devices as a restored checkpoint is: a fresh and a resumed run then lower to
  # the same program and share the compilation cache (a resumed tiny search: 13 -> 4 s).
  return graphdef, space, parallel.replicate(state, mesh or parallel.mesh())


def alphas_of(state: SearchState) -> dict[str, np.ndarray]:
  return {label: np.asarray(a) for label, a in nnx.to_pure_dict(state.arch)["alphas"].items()}


def discretize(space, alphas: dict[str, np.ndarray], method: methods.Method | None = None,
               hyper=None):
  """``(genotype, mixing weights)``: the method's rule (by default the space's) applied to the
  method's deterministic mixing weights, never to raw alphas (the reference parses
  ``softmax(alphas)``; its rule compares edges by their weights)."""
  method = method or methods.get("darts")
  weights = {k: np.asarray(v) for k, v in mixing_weights(alphas, method, hyper).items()}
  rule = method.discretize or (lambda space_, mixing: space_.discretize(mixing))
  return rule(space, weights), weights


def _network_schema(config) -> dict | None:
  """The keyword arguments of the space's supernet (None for a space without one)."""
  if config.space not in supernet.SUPERNETS:
    return None
  schema = cs.keyword_arguments(supernet.SUPERNETS[config.space],
                                exclude=("self", "space", "rngs", "num_classes", "in_channels"))
  if "recompute" in schema:
    schema["recompute"] = cs.one_of(mixed.RECOMPUTE, "recompute policy")
  return schema


def _option_schema(config) -> dict | None:
  """The method's options, checked by their defaults' types."""
  name = config.get("method", "darts")
  if name not in methods.names():
    return None
  checks = {bool: cs.boolean, int: cs.integer(0), float: cs.number(), str: cs.text}
  return {option: checks.get(type(default), lambda value: None)
          for option, default in methods.defaults(name).items()}


def config_schema() -> dict:
  """The fields of a search config (``config_schema.check``)."""
  return {
      "seed": cs.integer(0), "num_seeds": cs.integer(1), "tensorboard": cs.boolean,
      "distributed": cs.boolean, "compute_dtype": cs.one_of(precision.DTYPES, "compute dtype"),
      "matmul_precision": cs.one_of(("default", "high", "highest"), "matmul precision"),
      "conv_implementation": cs.one_of(ops.CONV_IMPLEMENTATIONS, "conv implementation"),
      "space": cs.one_of(spaces.names, "search space"),
      "ops": cs.sequence_of(cs.registered_op), "ops_module": cs.text,
      "network": cs.section(_network_schema),
      "data": data.config_schema(), "batch_size": cs.integer(1), "epochs": cs.integer(1),
      "architect": cs.one_of(architects.names, "architect"),
      "method": cs.one_of(methods.names, "method"), "method_options": cs.section(_option_schema),
      "diagnostics": {"hessian_iterations": cs.integer(0)},
      "early_stop": {"ratio": cs.NON_NEGATIVE, "window": cs.integer(1)},
      "step_order": cs.one_of(STEP_ORDERS, "step order"),
      "weights": {"lr": cs.POSITIVE, "min_lr": cs.NON_NEGATIVE, "momentum": cs.PROBABILITY,
                  "nesterov": cs.boolean, "weight_decay": cs.NON_NEGATIVE,
                  "clip_norm": cs.POSITIVE},
      "alphas": {"lr": cs.POSITIVE, "b1": cs.PROBABILITY, "b2": cs.PROBABILITY,
                 "weight_decay": cs.NON_NEGATIVE, "clip_norm": cs.NON_NEGATIVE},
      "cost": objective.config_schema()}


def check_config(config: ml_collections.ConfigDict) -> None:
  """Imports ``config.ops_module`` and checks the whole config; raises ``ConfigError``."""
  cs.import_ops_modules(config)
  cs.check(config, config_schema(), what="search config")


def _compile(step, state, train_batch, val_batch, hyper, progress: progress_lib.Progress, report):
  """The step compiled ahead of its first call, its compile time reported on its own."""
  started = time.time()
  compiled = step.lower(state, train_batch, val_batch, hyper).compile()
  progress.compiled(time.time() - started)
  report(f"compiled the search step in {progress.compile_seconds:.1f}s (not counted in ETAs)")
  return compiled


def run(config: ml_collections.ConfigDict, workdir: str, *, report=print) -> SearchResult:
  """Searches, checkpointing every epoch into ``workdir`` (resuming from it when a checkpoint exists),
  and writes ``data.json``, ``metrics.jsonl`` and ``genotype.json``. The config is checked and the
  workdir checked (``workdir.check``) before anything is read or written."""
  check_config(config)
  method = method_of(config)
  if config.get("num_seeds", 1) > 1 and method.driver is not None:
    raise cs.ConfigError(f"{method.name} runs its stages one seed at a time; set "
                         "--config.num_seeds=1 and start one run per seed")
  with ops.conv_implementation(config.get("conv_implementation", "auto")):
    if config.get("num_seeds", 1) > 1:
      from darts_jax import multi_seed  # (it builds on this module)
      return multi_seed.run(config, workdir, report)
    if method.driver is not None:
      return method.driver(config, workdir, report, _search)
    return _search(config, workdir, report)


def _search(config: ml_collections.ConfigDict, workdir: str, report=print) -> SearchResult:
  """One search (``run`` without a method's driver)."""
  check_config(config)
  workdir_lib.check(workdir, config, what="search")
  parallel.initialize(config.get("distributed", False))
  mesh = parallel.mesh()
  parallel.check_batch_size(config.batch_size, mesh)
  dataset = data.load_from_config(config.data, seed=config.seed)
  workdir_lib.record(workdir, config)
  data.record(dataset, workdir)
  train = data.batches_from_config(dataset.train, config.data, config.batch_size, seed=config.seed)
  val = data.batches_from_config(dataset.val, config.data, config.batch_size, seed=config.seed + 1)
  feed = data.feed_from_config(dataset.train, config.data,
                               place=lambda batch: parallel.shard_batch(batch, mesh))
  steps_per_epoch = train.batches_per_pass
  schedule = optim.epoch_cosine(config.weights.lr, config.weights.min_lr, config.epochs,
                                steps_per_epoch)
  graphdef, space, state = init_state(config, dataset, schedule, mesh)
  checkpoints = checkpoint.EpochCheckpoints(workdir, {"train": train, "val": val})
  state, start_epoch = checkpoints.resume(state, report=report)
  log = runlog.MetricsLog(workdir, start_epoch, tensorboard=config.get("tensorboard", True))
  method = method_of(config)
  genotype_path = os.path.join(workdir, "genotype.json")
  stopped = any("early_stop_epoch" in r for r in log.history)
  if (start_epoch >= config.epochs or stopped) and os.path.exists(genotype_path):
    genotype = genotypes.load(genotype_path)
    report(f"search in {workdir} already finished ({len(log.history)} epochs): {genotype}")
    return SearchResult(genotype, alphas_of(state), log.history)
  report(f"search: {method.name} ({config.architect}) on {space.name}, data {dataset.name} from "
         f"{dataset.source}; {len(dataset.train)}/{len(dataset.val)} train/val images of "
         f"{dataset.image_shape}, {steps_per_epoch} steps per epoch, {config.epochs} epochs")

  progress = progress_lib.Progress(config.epochs * steps_per_epoch, start_epoch * steps_per_epoch,
                                   report=report)
  diagnose = Diagnostics(graphdef, config, method, dataset.val)
  step, genotype = None, None
  for epoch in range(start_epoch, config.epochs):
    epoch_start = time.time()
    hyper = method.hyper(epoch, config.epochs)
    totals = None
    batches = feed(next(train)), feed(next(val))
    for index in range(steps_per_epoch):
      if step is None:
        with jax.default_matmul_precision(config.get("matmul_precision", "highest")):
          step = _compile(compiling.jit(make_search_step(graphdef, config, schedule, method),
                                        donate_argnums=0), state, *batches, hyper, progress,
                          report)
        epoch_start = time.time()
      state, metrics = step(state, *batches, hyper)
      if index + 1 < steps_per_epoch:  # the next batches travel while this step runs
        batches = feed(next(train)), feed(next(val))
      totals = metrics if totals is None else jax.tree.map(jnp.add, totals, metrics)
      if progress.done == start_epoch * steps_per_epoch:
        jax.block_until_ready(totals)  # the first step's time is not a steady step's
      progress.step(f"epoch {epoch + 1}/{config.epochs}  ")
    record = {k: float(v) / steps_per_epoch for k, v in totals.items()}
    runlog.check_finite(record, epoch, checkpoints.directory, what="search",
                        fix="Lower --config.weights.lr or --config.alphas.lr")
    seconds = time.time() - epoch_start
    between_epochs = time.time()
    genotype, weights = discretize(space, alphas_of(state), method, hyper)
    record.update(epoch=epoch, seconds=round(seconds, 3), genotype=str(genotype),
                  lr=float(optim.current_lr(schedule, state.weight_opt)),
                  alphas={k: np.round(w, 4).tolist() for k, w in weights.items()},
                  op_names=list(space.op_names), **{k: float(v) for k, v in hyper.items()},
                  **diagnose(state, hyper, genotype, weights))
    if epoch == start_epoch:
      record["compile_seconds"] = round(progress.compile_seconds, 3)
    kept = diagnose.early_stop(log.history + [record])
    if kept is not None:
      record["early_stop_epoch"] = kept
      genotype = genotypes.parse((log.history + [record])[kept]["genotype"])
    log.append(record)
    checkpoints.save(epoch, state)
    progress.exclude(time.time() - between_epochs)
    report(f"epoch {epoch + 1}/{config.epochs}  train loss {record['train_loss']:.4f} "
           f"acc {record['train_acc']:.3f}  val loss {record['val_loss']:.4f} "
           f"acc {record['val_acc']:.3f}  {seconds:.1f}s  {progress.eta_text()}  {genotype}")
    if kept is not None:
      report(f"early stop (DARTS-ES): the Hessian's dominant eigenvalue grew more than "
             f"{config.early_stop.ratio}x within {config.early_stop.window} epochs; keeping the "
             f"genotype of epoch {kept + 1}")
      break

  alphas = alphas_of(state)
  if genotype is None:
    genotype, _ = discretize(space, alphas, method, method.hyper(config.epochs - 1, config.epochs))
  genotypes.save(genotype, genotype_path, ops_modules=cs.import_ops_modules(config))
  return SearchResult(genotype, alphas, log.history)


class Diagnostics:
  """Per-epoch collapse diagnostics (``darts_jax.diagnostics``): the validation loss's dominant
  Hessian eigenvalue in the alphas (``config.diagnostics.hessian_iterations`` power iterations on a
  fixed validation batch; 0 turns it off), the normal cell's skip connections, and the mean
  entropy of the mixing weights; DARTS-ES by ``config.early_stop``."""

  def __init__(self, graphdef, config, method: methods.Method, val: data.Split):
    options = config.get("diagnostics") or {}
    self.iterations = int(options.get("hessian_iterations", 0))
    self.early = config.get("early_stop") or {"ratio": 0.0, "window": 1}
    size = min(config.batch_size, len(val))
    self.batch = {"image": val.normalized(slice(size)), "label": val.labels[:size]}
    self.key = jax.random.PRNGKey(config.seed)
    loss = cross_entropy_loss(graphdef, method.relax)

    @jax.jit
    def sharpness(state, batch, hyper):
      value = lambda arch: loss(arch, state.weights, state.stats, batch, self.key, hyper)[0]
      return diagnostics.dominant_eigenvalue(value, state.arch, self.key, self.iterations)
    self._sharpness = sharpness

  def __call__(self, state, hyper, genotype, mixing) -> dict:
    found = {"skip_connections": diagnostics.skip_connections(genotype),
             "mixing_entropy": round(diagnostics.mean_entropy(mixing), 5)}
    if self.iterations:
      found["hessian_eigenvalue"] = float(self._sharpness(state, self.batch, hyper))
    return found

  def early_stop(self, records: list[dict]) -> int | None:
    """The epoch DARTS-ES keeps, or None."""
    if not self.iterations or not self.early["ratio"]:
      return None
    return diagnostics.early_stop_epoch([r["hessian_eigenvalue"] for r in records],
                                        int(self.early["window"]), float(self.early["ratio"]))
