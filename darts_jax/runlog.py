"""What search and retraining runs share: ``metrics.jsonl`` (and its TensorBoard mirror) that
survives resumption, and the non-finite-loss stop that names the checkpoint it keeps."""

from __future__ import annotations

import json
import math
import os

from darts_jax import tensorboard as tensorboard_log


class MetricsLog:
  """``<workdir>/metrics.jsonl``, one JSON record per finished epoch, and with ``tensorboard`` (the
  default) the same records as TensorBoard events in ``<workdir>/tb`` at step = epoch.

  Opening it for a run that resumes at ``start_epoch`` keeps the records of earlier epochs and drops
  later ones (they belong to the epoch that was interrupted); the TensorBoard events are written
  again from the kept records (and left untouched when no record was dropped)."""

  def __init__(self, workdir: str, start_epoch: int, *, tensorboard: bool = True):
    self.path = os.path.join(workdir, "metrics.jsonl")
    records = []
    if os.path.exists(self.path):
      with open(self.path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    self.history = [r for r in records if r["epoch"] < start_epoch]
    if len(self.history) != len(records) or not os.path.exists(self.path):
      with open(self.path, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in self.history)
    self.tensorboard = None
    if tensorboard:  # rewritten when records were dropped, else kept as they are
      self.tensorboard = tensorboard_log.TensorBoardLog(
          os.path.join(workdir, "tb"), self.history, rewrite=len(self.history) != len(records))

  def append(self, record: dict) -> None:
    self.history.append(record)
    with open(self.path, "a") as f:
      f.write(json.dumps(record) + "\n")
    if self.tensorboard is not None:
      self.tensorboard.write(record)

  def close(self) -> None:
    """Finishes the TensorBoard event file (also done when the log is collected or at exit)."""
    if self.tensorboard is not None:
      self.tensorboard.close()


def check_finite(record: dict, epoch: int, checkpoint_dir: str, *, what: str, fix: str) -> None:
  """Raises ``FloatingPointError`` when a metric of ``record`` is NaN or infinite."""
  if all(math.isfinite(v) for v in record.values() if isinstance(v, float)):
    return
  kept = (f"the last good checkpoint (after epoch {epoch - 1}) is kept in {checkpoint_dir}"
          if epoch else "no checkpoint was written")
  numbers = ", ".join(f"{k} {v:.4g}" for k, v in record.items() if isinstance(v, float))
  raise FloatingPointError(f"{what} diverged (non-finite loss) in epoch {epoch}: {numbers}; {kept}. "
                           f"{fix} and run again (it resumes from the checkpoint).")
