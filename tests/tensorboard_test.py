"""TensorBoard events of metric records: read back with tensorboard's own reader (no TensorFlow)."""

import glob
import io
import itertools
import os

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing import event_accumulator

from darts_jax import genotypes, runlog

NB201_CELL = ("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+"
              "|avg_pool_3x3~0|none~1|nor_conv_3x3~2|")


def search_record(epoch: int, offset: float = 0.0) -> dict:
  rng = np.random.default_rng(epoch)
  return {"train_loss": 2.0 / (epoch + 1) + offset, "train_acc": 0.1 * epoch,
          "val_loss": 2.5 / (epoch + 1), "val_acc": 0.08 * epoch, "epoch": epoch, "seconds": 1.5,
          "lr": 0.025 - 0.001 * epoch,
          "genotype": NB201_CELL, "cost": {"latency_ms": 3.0 + epoch},
          "collapse_score": 0.5 + epoch,  # a field the writer has never heard of
          "alphas": {"cell": rng.dirichlet(np.ones(5), 6).round(4).tolist()}}


def read(workdir: str) -> event_accumulator.EventAccumulator:
  accumulator = event_accumulator.EventAccumulator(
      os.path.join(workdir, "tb"), size_guidance={"scalars": 0, "images": 0, "histograms": 0,
                                                   "tensors": 0})
  accumulator.Reload()
  return accumulator


def scalars(accumulator, tag: str) -> list[tuple[int, float]]:
  return [(event.step, round(event.value, 5)) for event in accumulator.Scalars(tag)]


def test_every_number_is_a_scalar_at_step_epoch(tmp_path):
  log = runlog.MetricsLog(str(tmp_path), 0)
  for epoch in range(3):
    log.append(search_record(epoch))
  log.close()
  events = read(str(tmp_path))
  assert set(events.Tags()["scalars"]) == {"train_loss", "train_acc", "val_loss", "val_acc",
                                           "seconds", "lr", "cost/latency_ms", "collapse_score"}
  assert scalars(events, "train_loss") == [(0, 2.0), (1, 1.0), (2, round(2 / 3, 5))]
  assert scalars(events, "collapse_score") == [(0, 0.5), (1, 1.5), (2, 2.5)]
  assert scalars(events, "cost/latency_ms") == [(0, 3.0), (1, 4.0), (2, 5.0)]


def test_alphas_as_heat_map_and_histogram_and_genotype_as_text(tmp_path):
  log = runlog.MetricsLog(str(tmp_path), 0)
  for epoch in range(2):
    log.append(search_record(epoch))
  log.close()
  events = read(str(tmp_path))
  images = events.Images("alphas/cell")
  assert [image.step for image in images] == [0, 1]
  picture = Image.open(io.BytesIO(images[-1].encoded_image_string))
  assert picture.format == "PNG" and min(picture.size) > 200
  histograms = events.Histograms("alphas_histogram/cell")
  assert [h.step for h in histograms] == [0, 1]
  assert histograms[0].histogram_value.num == 30  # 6 edges x 5 ops
  assert histograms[0].histogram_value.sum == pytest.approx(6.0, abs=1e-3)  # rows sum to one
  texts = events.Tensors("genotype/text_summary")
  assert [t.step for t in texts] == [0, 1]
  assert texts[0].tensor_proto.string_val[0].decode() == NB201_CELL


def test_darts_alphas_and_published_genotype(tmp_path):
  rng = np.random.default_rng(0)
  record = {"train_loss": 1.0, "epoch": 0, "genotype": str(genotypes.PUBLISHED["DARTS_V2"]),
            "alphas": {label: rng.dirichlet(np.ones(8), 14).tolist()
                       for label in ("normal", "reduce")}}
  log = runlog.MetricsLog(str(tmp_path), 0)
  log.append(record)
  log.close()
  events = read(str(tmp_path))
  assert set(events.Tags()["images"]) == {"alphas/normal", "alphas/reduce"}
  kinds = ("scalars", "images", "histograms", "tensors")
  for a, b in itertools.combinations(kinds, 2):  # TensorBoard shows a tag under one kind only
    assert not set(events.Tags()[a]) & set(events.Tags()[b]), (a, b)
  assert events.Histograms("alphas_histogram/reduce")[0].histogram_value.num == 14 * 8


def test_resume_writes_each_epoch_once_with_the_new_values(tmp_path):
  log = runlog.MetricsLog(str(tmp_path), 0)
  for epoch in range(5):  # epochs 3 and 4 were logged, but the run resumes from epoch 3's start
    log.append(search_record(epoch))
  log.close()
  log = runlog.MetricsLog(str(tmp_path), 3)
  for epoch in range(3, 6):
    log.append(search_record(epoch, offset=10.0))
  log.close()
  assert len(glob.glob(os.path.join(tmp_path, "tb", "events.out.tfevents.*"))) == 1
  events = read(str(tmp_path))
  assert scalars(events, "train_loss") == [
      (0, 2.0), (1, 1.0), (2, round(2 / 3, 5)), (3, 10.5), (4, 10.4), (5, round(10 + 2 / 6, 5))]
  assert [image.step for image in events.Images("alphas/cell")] == list(range(6))
  assert [t.step for t in events.Tensors("genotype/text_summary")] == list(range(6))


def test_resume_after_a_checkpointed_epoch_keeps_the_event_files(tmp_path):
  log = runlog.MetricsLog(str(tmp_path), 0)
  for epoch in range(2):
    log.append(search_record(epoch))
  log.close()
  [first] = glob.glob(os.path.join(tmp_path, "tb", "events.out.tfevents.*"))
  before = (os.path.getsize(first), os.path.getmtime(first))
  runlog.MetricsLog(str(tmp_path), 2).close()  # a finished run opened again: nothing changes
  assert glob.glob(os.path.join(tmp_path, "tb", "*")) == [first]
  log = runlog.MetricsLog(str(tmp_path), 2)
  log.append(search_record(2))
  log.close()
  assert (os.path.getsize(first), os.path.getmtime(first)) == before
  assert len(glob.glob(os.path.join(tmp_path, "tb", "events.out.tfevents.*"))) == 2
  assert scalars(read(str(tmp_path)), "train_loss") == [(0, 2.0), (1, 1.0), (2, round(2 / 3, 5))]


def test_a_fresh_run_deletes_stale_events(tmp_path):
  log = runlog.MetricsLog(str(tmp_path), 0)
  log.append(search_record(0, offset=5.0))
  log.close()
  os.remove(tmp_path / "metrics.jsonl")  # the run is started again from scratch
  log = runlog.MetricsLog(str(tmp_path), 0)
  log.append(search_record(0))
  log.close()
  assert scalars(read(str(tmp_path)), "train_loss") == [(0, 2.0)]


def test_retraining_records_and_the_switch(tmp_path):
  on, off = tmp_path / "on", tmp_path / "off"
  record = {"train_loss": 0.7, "train_acc": 0.8, "test_acc": 0.75, "test_loss": 0.9, "epoch": 0,
            "seconds": 2.0, "lr": 0.025}
  for workdir, switch in ((on, True), (off, False)):
    os.makedirs(workdir)
    log = runlog.MetricsLog(str(workdir), 0, tensorboard=switch)
    log.append(record)
    log.close()
  assert not os.path.exists(off / "tb")
  assert (off / "metrics.jsonl").read_text() == (on / "metrics.jsonl").read_text()
  events = read(str(on))
  assert set(events.Tags()["scalars"]) == {"train_loss", "train_acc", "test_acc", "test_loss",
                                           "seconds", "lr"}
  assert events.Tags()["images"] == []
