"""TensorBoard event files of a run's metric records (tensorboardX: no TensorFlow needed).

One record per epoch, at ``step = record["epoch"]``:
- every number (nested dicts flatten to ``outer/inner``) as a scalar tagged by its field name, so a
  new float field shows up without code changes;
- ``alphas`` (``{label: [edges][ops]}``) as a labelled heat map image (``alphas/<label>``) and a
  histogram (``alphas_histogram/<label>``) per label;
- every other list of numbers as a histogram, every string (the ``genotype``) as text.

The event files mirror ``metrics.jsonl``: ``TensorBoardLog(logdir, history)`` deletes earlier event
files of ``logdir`` and writes ``history`` again, so a resumed run shows each epoch once, whatever
the interrupted run had written after its last checkpoint."""

from __future__ import annotations

import glob
import numbers
import os
import weakref
from collections.abc import Iterable, Iterator

import numpy as np
import tensorboardX

from darts_jax.plotting import alphas as alpha_plots
from darts_jax.plotting import output

STEP_FIELD = "epoch"


def _numbers(record: dict, prefix: str = "") -> Iterator[tuple[str, float]]:
  for key, value in record.items():
    tag = f"{prefix}{key}"
    if isinstance(value, dict):
      yield from _numbers(value, f"{tag}/")
    elif isinstance(value, numbers.Real) and not (tag == STEP_FIELD and not prefix):
      yield tag, float(value)


class TensorBoardLog:
  """Writes metric records into ``logdir`` (see the module docstring); ``close()`` finishes the
  event file (it is also closed when the object is collected or the program exits)."""

  def __init__(self, logdir: str, history: Iterable[dict] = ()):
    os.makedirs(logdir, exist_ok=True)
    for path in glob.glob(os.path.join(logdir, "events.out.tfevents.*")):
      os.remove(path)
    self.logdir = logdir
    self._writer = tensorboardX.SummaryWriter(logdir, flush_secs=5)
    self._finalizer = weakref.finalize(self, self._writer.close)
    for record in history:
      self.write(record, flush=False)
    self._writer.flush()

  def write(self, record: dict, *, flush: bool = True) -> None:
    step = int(record[STEP_FIELD])
    writer = self._writer
    for tag, value in _numbers(record):
      writer.add_scalar(tag, value, step)
    layouts = alpha_plots.record_layouts(record)
    for label, weights in record.get("alphas", {}).items():
      fig = alpha_plots.heatmap(weights, layouts[label], f"{label} mixing weights, epoch {step}")
      writer.add_image(f"alphas/{label}", output.pixels(fig), step, dataformats="HWC")
      writer.add_histogram(f"alphas_histogram/{label}", np.asarray(weights, dtype=float), step,
                           bins="auto")
    for key, value in record.items():
      if key == "alphas":
        continue
      if isinstance(value, str):
        writer.add_text(key, value, step)
      elif isinstance(value, (list, tuple)) and value and _all_numbers(value):
        writer.add_histogram(key, np.asarray(value, dtype=float), step, bins="auto")
    if flush:
      writer.flush()

  def close(self) -> None:
    self._finalizer()


def _all_numbers(values) -> bool:
  flat = np.asarray(values, dtype=object).ravel()
  return all(isinstance(v, numbers.Real) for v in flat)
