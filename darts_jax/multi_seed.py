"""Several seeds of one search in one compiled program (``--config.num_seeds=S``).

The whole search state (weights, alphas, BatchNorm statistics, both optimizer states, PRNG key) is
stacked over seeds and the search step ``jax.vmap``-ed over them: independent initializations,
alphas and data orders (seed ``config.seed + i`` for replica i), one trace and one compile. The run
writes each seed's genotype and how much they agree (``genotypes.json``); ``genotype.json`` holds the
genotype most seeds found.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from darts_jax import (checkpoint, compiling, data, genotypes, optim, parallel, runlog, search,
                       workdir as workdir_lib)
from darts_jax import progress as progress_lib


@dataclasses.dataclass
class MultiSeedResult:
  genotype: genotypes.Genotype  # the one most seeds found
  genotypes: list  # per seed
  agreement: dict
  history: list[dict]


def _seeded(config: ml_collections.ConfigDict, seed: int) -> ml_collections.ConfigDict:
  config = config.copy_and_resolve_references()
  with config.unlocked():
    config.seed, config.num_seeds = seed, 1
  return config


def _edges(genotype) -> list:
  """The genotype's choices in a fixed order: (op, input) per position of each cell."""
  if isinstance(genotype, genotypes.DartsGenotype):
    return list(genotype.normal) + list(genotype.reduce)
  if isinstance(genotype, genotypes.NB201Genotype):
    return [edge for node in genotype.nodes for edge in node]
  return [str(genotype)]


def agreement(found: list) -> dict:
  """How much the seeds agree: the share of seeds that found the most common genotype, and the
  mean over edge positions of the share that chose that position's most common (op, input)."""
  strings = [str(g) for g in found]
  most_common = collections.Counter(strings).most_common(1)[0][1]
  per_edge = [collections.Counter(choices).most_common(1)[0][1] / len(found)
              for choices in zip(*(_edges(g) for g in found))]
  return {"same_genotype": most_common / len(found), "per_edge": float(np.mean(per_edge)),
          "distinct": len(set(strings))}


class _Stacked:
  """One iterator per seed, seen as one: batches stacked on a leading seed axis; positions a list."""

  def __init__(self, iterators):
    self.iterators = iterators

  @property
  def position(self):
    return [list(it.position) for it in self.iterators]

  def restore(self, positions) -> None:
    for it, position in zip(self.iterators, positions):
      it.restore(position)

  def __next__(self):
    batches = [next(it) for it in self.iterators]
    return {k: np.stack([b[k] for b in batches]) for k in batches[0]}


def run(config: ml_collections.ConfigDict, workdir: str, report=print) -> MultiSeedResult:
  """Searches ``config.num_seeds`` seeds at once into ``workdir`` (checkpoints every epoch, resumes);
  ``search.run`` calls this after checking the config."""
  count = config.num_seeds
  seeds = [config.seed + i for i in range(count)]
  workdir_lib.check(workdir, config, what="multi-seed search")
  dataset = data.load_from_config(config.data, seed=config.seed)
  workdir_lib.record(workdir, config)
  data.record(dataset, workdir)
  batches = lambda split, offset: _Stacked([data.batches_from_config(
      split, config.data, config.batch_size, seed=s + offset) for s in seeds])
  train, val = batches(dataset.train, 0), batches(dataset.val, 1)
  steps_per_epoch = train.iterators[0].batches_per_pass
  schedule = optim.epoch_cosine(config.weights.lr, config.weights.min_lr, config.epochs,
                                steps_per_epoch)
  mesh = parallel.mesh()
  feed = data.feed_from_config(dataset.train, config.data,
                               place=lambda batch: parallel.replicate(batch, mesh))
  built = [search.init_state(_seeded(config, s), dataset, schedule, mesh) for s in seeds]
  graphdef, space = built[0][:2]
  state = parallel.replicate(jax.tree.map(lambda *x: jnp.stack(x), *(b[2] for b in built)), mesh)
  checkpoints = checkpoint.EpochCheckpoints(workdir, {"train": train, "val": val})
  state, start_epoch = checkpoints.resume(state, report=report)
  log = runlog.MetricsLog(workdir, start_epoch, tensorboard=config.get("tensorboard", True))
  method = search.method_of(config)
  report(f"search: {count} seeds of {method.name} ({config.architect}) on {space.name} in one "
         f"program, data {dataset.name}; {steps_per_epoch} steps per epoch, {config.epochs} epochs")

  step = jax.vmap(search.make_search_step(graphdef, config, schedule, method),
                  in_axes=(0, 0, 0, None))
  progress = progress_lib.Progress(config.epochs * steps_per_epoch, start_epoch * steps_per_epoch,
                                   report=report)
  compiled, found = None, None
  for epoch in range(start_epoch, config.epochs):
    epoch_start, hyper, totals = time.time(), method.hyper(epoch, config.epochs), None
    for _ in range(steps_per_epoch):
      batches = feed(next(train)), feed(next(val))
      if compiled is None:
        started = time.time()
        with jax.default_matmul_precision(config.get("matmul_precision", "highest")):
          compiled = compiling.jit(step, donate_argnums=0).lower(state, *batches, hyper).compile()
        progress.compiled(time.time() - started)
        report(f"compiled the {count}-seed search step in {progress.compile_seconds:.1f}s")
        epoch_start = time.time()
      state, metrics = compiled(state, *batches, hyper)
      totals = metrics if totals is None else jax.tree.map(jnp.add, totals, metrics)
      progress.step(f"epoch {epoch + 1}/{config.epochs}  ")
    per_seed = {k: (np.asarray(v) / steps_per_epoch).tolist() for k, v in totals.items()}
    record = {k: float(np.mean(v)) for k, v in per_seed.items()}
    runlog.check_finite(record, epoch, checkpoints.directory, what="search",
                        fix="Lower --config.weights.lr or --config.alphas.lr")
    found = [search.discretize(space, {k: np.asarray(v)[i] for k, v in
                                       search.alphas_of(state).items()}, method, hyper)[0]
             for i in range(count)]
    record.update(epoch=epoch, seconds=round(time.time() - epoch_start, 3), per_seed={
        **per_seed, "genotype": [str(g) for g in found]}, agreement=agreement(found))
    log.append(record)
    checkpoints.save(epoch, state)
    report(f"epoch {epoch + 1}/{config.epochs}  mean val acc {record['val_acc']:.3f}  "
           f"{record['seconds']:.1f}s  {progress.eta_text()}  {record['agreement']['distinct']} "
           f"distinct genotypes of {count}")

  alphas = search.alphas_of(state)
  if found is None:
    found = [search.discretize(space, {k: np.asarray(v)[i] for k, v in alphas.items()}, method)[0]
             for i in range(count)]
  agreed = agreement(found)
  strings = [str(g) for g in found]
  best = found[strings.index(collections.Counter(strings).most_common(1)[0][0])]
  genotypes.save(best, os.path.join(workdir, "genotype.json"))
  with open(os.path.join(workdir, "genotypes.json"), "w") as f:
    json.dump({"seeds": seeds, "genotypes": strings, "agreement": agreed}, f, indent=1)
  return MultiSeedResult(best, found, agreed, log.history)
