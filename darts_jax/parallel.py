"""Data parallelism over every device of every process, with ``jax.sharding``.

One mesh axis, ``data``: the batch is split along it, the state (weights, alphas, BatchNorm
statistics, optimizer states) is replicated. The step is the same ``jax.jit`` program as on one
device; XLA's partitioner inserts the cross-device sums, so BatchNorm normalizes by the global
batch's statistics and a step on N devices equals the one-device step up to summation order.

Several hosts (``config.distributed``): ``jax.distributed.initialize()`` connects the processes
(SLURM and Cloud TPU set its arguments from the environment); every process draws the same global
batch order and contributes its own rows (``shard_batch``), and Orbax writes each checkpoint once.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AXIS = "data"


def initialize(distributed: bool) -> None:
  """Connects the processes of a multi-host run (idempotent); nothing for one process."""
  if distributed and not jax.distributed.is_initialized():
    jax.distributed.initialize()


def mesh() -> Mesh:
  """All devices of all processes along the ``data`` axis."""
  return Mesh(np.asarray(jax.devices()), (AXIS,))


def replicated(mesh_: Mesh) -> NamedSharding:
  return NamedSharding(mesh_, PartitionSpec())


def batch_sharded(mesh_: Mesh) -> NamedSharding:
  return NamedSharding(mesh_, PartitionSpec(AXIS))


def check_batch_size(batch_size: int, mesh_: Mesh) -> None:
  devices = mesh_.devices.size
  if batch_size % devices:
    from darts_jax.config_schema import ConfigError  # (late: config_schema imports nothing here)
    raise ConfigError(f"batch_size {batch_size} does not split over {devices} devices; use a "
                      f"multiple of {devices}, e.g. --config.batch_size={devices * max(1, batch_size // devices)}")


def replicate(tree, mesh_: Mesh):
  """``tree`` on every device of the mesh."""
  return jax.device_put(tree, replicated(mesh_))


def shard_batch(batch, mesh_: Mesh):
  """A global batch (the same numpy arrays in every process) split along ``data``: each process
  places only the rows of its own devices."""
  sharding = batch_sharded(mesh_)
  if jax.process_count() == 1:
    return jax.device_put(batch, sharding)

  def local_rows(x):
    rows = x.shape[0] // jax.process_count()
    start = jax.process_index() * rows
    return jax.make_array_from_process_local_data(sharding, x[start:start + rows], x.shape)

  return jax.tree.map(local_rows, batch)
