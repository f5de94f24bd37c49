"""TensorBoard event files of a run's metric records (tensorboardX: no TensorFlow needed).

One record per epoch, at ``step = record["epoch"]``:
- every number (nested dicts flatten to ``outer/inner``) as a scalar tagged by its field name, so a
  new float field shows up without code changes;
- ``alphas`` (``{label: [edges][ops]}``) as a labelled heat map image (``alphas/<label>``) and a
  histogram (``alphas_histogram/<label>``) per label;
- every other list of numbers as a histogram, every string (the ``genotype``) as text.

The event files mirror ``metrics.jsonl``: ``TensorBoardLog(logdir, history, rewrite=True)`` (a run
that resumes after dropping the records of an interrupted epoch) deletes the event files of
``logdir`` and writes ``history`` again, so each epoch shows once. With ``rewrite=False`` (no record
dropped) existing event files are taken to hold ``history`` and left untouched; new records go to
a new event file, started at the first of them."""

from __future__ import annotations

import glob
import numbers
import os
import weakref
from collections.abc import Iterator, Sequence

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

  def __init__(self, logdir: str, history: Sequence[dict] = (), *, rewrite: bool = True):
    self.logdir = logdir
    self._writer = None
    self._finalizer = None
    existing = self._event_files()
    if rewrite or not history or not existing:  # else the files already hold ``history``
      for path in existing:
        os.remove(path)
      for record in history:
        self.write(record, flush=False)
      if history:
        self._writer.flush()

  def _event_files(self) -> list[str]:
    return glob.glob(os.path.join(self.logdir, "events.out.tfevents.*"))

  def _open(self) -> tensorboardX.SummaryWriter:
    if self._writer is None:
      os.makedirs(self.logdir, exist_ok=True)
      # Names are events.out.tfevents.<second>.<host><suffix>; a counted suffix keeps a file
      # started in the same second as an earlier one from overwriting it, and sorts after it.
      suffix = f".{len(self._event_files()):03d}"
      self._writer = tensorboardX.SummaryWriter(self.logdir, flush_secs=5, filename_suffix=suffix)
      self._finalizer = weakref.finalize(self, self._writer.close)
    return self._writer

  def write(self, record: dict, *, flush: bool = True) -> None:
    step = int(record[STEP_FIELD])
    writer = self._open()
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
    if self._finalizer is not None:
      self._finalizer()


def _all_numbers(values) -> bool:
  flat = np.asarray(values, dtype=object).ravel()
  return all(isinstance(v, numbers.Real) for v in flat)
