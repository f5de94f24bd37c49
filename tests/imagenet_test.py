"""ImageNet streamed from disk: a tiny folder tree written here (3 classes, random-pixel JPEG and
PNG files of varied sizes), a genuine TFDS imagenet2012 written as array_record, the augmentation
steps against facts that do not depend on this code, resumable seeded streams, and the retrain
script end to end."""

import colorsys
import dataclasses
import importlib.util
import io
import json
import os
import pathlib
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
from conftest import Interrupted, interrupt_after_first_epoch
from PIL import Image

from darts_jax import data, retrain
from darts_jax.data import imagenet, transforms
from experiments.configs import retrain_imagenet

ROOT = pathlib.Path(__file__).resolve().parent.parent
CLASSES = ("n01440764", "n01443537", "n01484850")
SIZES = ((40, 56), (64, 48), (50, 50), (33, 70), (45, 60))  # (height, width)
SUFFIXES = (".JPEG", ".jpg", ".png", ".JPG", ".jpeg")
PER_CLASS = {"train": 5, "val": 2}


def write_tree(root: pathlib.Path, per_class=PER_CLASS) -> pathlib.Path:
  rng = np.random.default_rng(0)
  for split, count in per_class.items():
    for name in CLASSES:
      folder = root / split / name
      folder.mkdir(parents=True)
      for i in range(count):
        pixels = rng.integers(0, 256, SIZES[i % len(SIZES)] + (3,), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{name}_{i}{SUFFIXES[i % len(SUFFIXES)]}")
  (root / "train" / CLASSES[0] / "LICENSE.txt").write_text("not an image: skipped")
  return root


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> pathlib.Path:
  return write_tree(tmp_path_factory.mktemp("imagenet"))


def config(tree, **overrides) -> dict:
  return {"name": "imagenet", "data_dir": str(tree), "image_size": 16, "threads": 2, "workers": 0,
          "prefetch": 2, **overrides}


def take(batches, n):
  return [next(batches) for _ in range(n)]


def assert_same_batches(first, second):
  assert len(first) == len(second)
  for a, b in zip(first, second):
    np.testing.assert_array_equal(a["label"], b["label"])
    np.testing.assert_array_equal(a["image"], b["image"])


# --- reading -------------------------------------------------------------------------------------

def test_folder_tree_labels_are_the_sorted_class_folders(tree):
  native = imagenet.find(str(tree))
  assert native.num_classes == 3 and "folder tree" in native.source
  for split, count in PER_CLASS.items():
    source = native.splits[split]
    assert len(source) == 3 * count  # any case of .jpeg/.jpg/.png; LICENSE.txt skipped
    assert np.bincount(source.labels).tolist() == [count] * 3
    for i in range(len(source)):
      record = source[i]
      assert pathlib.Path(record["where"]).parent.name == CLASSES[record["label"]]
      assert imagenet.decode(record).mode == "RGB"


def test_streamed_batches_shapes_dtypes_and_sizes_without_reading_images(tree, tmp_path):
  dataset = data.open_from_config(config(tree))
  assert isinstance(dataset, data.StreamedDataset) and dataset.image_shape == (16, 16, 3)
  assert (len(dataset.train), len(dataset.val), len(dataset.test)) == (15, 0, 6)  # 98% of 15 = 15
  train = data.batches_from_config(dataset.train, config(tree), 4, seed=0)
  assert isinstance(train, data.StreamedBatches) and train.batches_per_pass == 3
  batch = next(train)
  assert batch["image"].shape == (4, 16, 16, 3) and batch["image"].dtype == np.uint8
  assert batch["label"].dtype == np.int32 and set(batch["label"]) <= {0, 1, 2}
  data.record(dataset, str(tmp_path))
  recorded = json.loads((tmp_path / "data.json").read_text())
  assert recorded["splits"]["test"] == {"examples": 6, "image_shape": [16, 16, 3],
                                        "dtype": "uint8", "streamed": True,
                                        "label_histogram": [2, 2, 2]}
  assert recorded["settings"]["eval_resize"] == 18 and recorded["settings"]["mean"] == list(
      transforms.MEAN)


def test_same_seed_same_batches_each_pass_reshuffled(tree):
  dataset = data.open_from_config(config(tree))
  first = take(data.StreamedBatches(dataset.train, 5, seed=0), 7)  # passes of 3 batches
  assert_same_batches(first, take(data.StreamedBatches(dataset.train, 5, seed=0), 7))
  other = take(data.StreamedBatches(dataset.train, 5, seed=1), 7)
  assert any(np.any(a["image"] != b["image"]) for a, b in zip(first, other))
  passes = [np.concatenate([b["label"] for b in first[i:i + 3]]) for i in (0, 3)]
  assert sorted(passes[0]) == sorted(passes[1]) and np.any(passes[0] != passes[1])


def test_restored_position_continues_the_same_stream_whatever_the_threads(tree):
  dataset = data.open_from_config(config(tree))
  stream = data.StreamedBatches(dataset.train, 4, seed=0)
  head = take(stream, 2)
  position = json.loads(json.dumps(stream.position))  # as a checkpoint stores it
  tail = take(stream, 5)  # crosses two pass boundaries
  single_threaded = data.open_from_config(config(tree, threads=0, prefetch=0))
  resumed = data.StreamedBatches(single_threaded.train, 4, seed=0)
  resumed.restore(position)
  assert_same_batches(take(resumed, 5), tail)
  assert resumed.position == stream.position == (2, 1)
  resumed.restore([0, 0])
  assert_same_batches(take(resumed, 2), head)


def test_evaluation_visits_every_image_once_in_padded_masked_batches(tree):
  dataset = data.open_from_config(config(tree))
  batches = list(data.in_order(dataset.test, 4))
  assert [len(labels) for _, labels in batches] == [4, 2]
  np.testing.assert_array_equal(np.concatenate([labels for _, labels in batches]),
                                dataset.test.labels)
  images = np.concatenate([images for images, _ in batches])
  for i, image in enumerate(images):
    with Image.open(dataset.test[i]["where"]) as original:
      expected = transforms.Eval(16, 18)(original.convert("RGB"))
    np.testing.assert_array_equal(image, expected)

  shapes = []
  def eval_step(weights, stats, images, labels, mask):
    shapes.append(images.shape[0])
    return np.sum(mask), np.sum(mask * labels)
  result = retrain.evaluate(eval_step, types.SimpleNamespace(weights=None, stats=None),
                            dataset.test, 4)
  assert shapes == [4, 4]  # the last batch padded to size
  assert result == {"acc": 1.0, "loss": dataset.test.labels.mean()}  # each example counted once


def test_subsets_and_held_out_slices_are_index_only(tree):
  dataset = data.open_from_config(config(tree, splits={"train": "train[:60%]",
                                                       "val": "train[60%:]"}, subset_size=5))
  assert (len(dataset.train), len(dataset.val), len(dataset.test)) == (5, 5, 6)
  joined = data.join(dataset.train, dataset.val)
  assert len(joined) == 10 and len(set(zip(joined.which, joined.index))) == 10
  with pytest.raises(ValueError, match="same streamed dataset"):
    data.join(dataset.train, data.open_from_config(config(tree)).val)


# --- augmentation --------------------------------------------------------------------------------

def test_center_crop_and_mirror_of_a_known_image():
  image = np.arange(10 * 12).reshape(10, 12, 1)
  crop = transforms.center_crop(image, 4)
  np.testing.assert_array_equal(crop[..., 0], [[r * 12 + c for c in range(4, 8)]
                                               for r in range(3, 7)])
  np.testing.assert_array_equal(transforms.mirror(image)[:, 0], image[:, 11])
  np.testing.assert_array_equal(transforms.mirror(transforms.mirror(image)), image)


def test_eval_of_a_flat_colour_is_that_colour_normalized_with_the_imagenet_constants():
  colour = (200, 100, 50)
  image = Image.new("RGB", (50, 30), colour)
  out = transforms.Eval(16, transforms.eval_resize(16))(image)
  assert out.shape == (16, 16, 3) and out.dtype == np.uint8
  np.testing.assert_array_equal(out, np.broadcast_to(colour, out.shape))
  expected = [(c / 255 - m) / s for c, m, s in zip(colour, (0.485, 0.456, 0.406),
                                                    (0.229, 0.224, 0.225))]
  fed = data.Feed(transforms.NORMALIZATION)({"image": out[None]})["image"][0]
  np.testing.assert_allclose(fed, np.broadcast_to(expected, out.shape), rtol=1e-5)
  assert transforms.eval_resize(224) == 256


def test_shorter_side_resize_keeps_the_aspect_ratio():
  assert transforms.resize_shorter(Image.new("RGB", (400, 300)), 256).size == (341, 256)
  assert transforms.resize_shorter(Image.new("RGB", (300, 400)), 256).size == (256, 341)


def test_random_resized_crop_boxes_obey_scale_and_ratio_and_fall_back_to_the_centre():
  rng = np.random.default_rng(0)
  boxes = np.array([transforms.crop_box(300, 400, rng) for _ in range(500)])
  top, left, h, w = boxes.T
  assert np.all(top >= 0) and np.all(left >= 0) and np.all(top + h <= 300) and np.all(
      left + w <= 400)
  area = h * w / (300 * 400)
  assert area.min() >= 0.08 * 0.98 and area.max() <= 1.0
  assert np.all(w / h >= 0.75 * 0.98) and np.all(w / h <= 4 / 3 * 1.02)
  assert area.min() < 0.15 and area.max() > 0.7  # the range is explored
  # no box of ratio 3/4..4/3 and 8%+ of the area fits in 10 x 1000: the centred fallback
  assert transforms.crop_box(10, 1000, rng) == (0, 493, 10, 13)
  assert transforms.crop_box(1000, 10, rng) == (493, 0, 13, 10)


def test_flip_is_an_exact_mirror_drawn_half_the_time():
  image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8))
  plain = transforms.Train(16, flip=False, jitter=0.0, hue=0.0)
  flipping = dataclasses.replace(plain, flip=True)
  flips = 0
  for seed in range(40):
    a = plain(image, np.random.default_rng(seed))
    b = flipping(image, np.random.default_rng(seed))
    if np.array_equal(b, transforms.mirror(a)):
      flips += 1
    else:
      np.testing.assert_array_equal(b, a)
  assert 10 <= flips <= 30


def test_color_jitter_adjustments_at_their_extremes():
  rng = np.random.default_rng(0)
  pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
  image = pixels.astype(np.float32) / 255
  np.testing.assert_array_equal(transforms.adjust_brightness(image, 0.0), 0.0)
  grey = np.asarray(Image.fromarray(pixels).convert("L"), np.float32) / 255  # PIL's own luma
  desaturated = transforms.adjust_saturation(image, 0.0)
  np.testing.assert_allclose(desaturated, np.repeat(grey[..., None], 3, -1), atol=1 / 255)
  flat = transforms.adjust_contrast(image, 0.0)
  np.testing.assert_allclose(flat, grey.mean(), atol=1 / 255)
  np.testing.assert_allclose(transforms.adjust_hue(np.array([[[1.0, 0, 0]]]), 1 / 3), [[[0, 1, 0]]],
                             atol=1e-6)
  np.testing.assert_allclose(transforms.adjust_hue(np.array([[[0.5, 0.5, 0.5]]]), 0.2), 0.5)
  shifted = transforms.adjust_hue(image, -0.15)
  for p, q in zip(image.reshape(-1, 3), shifted.reshape(-1, 3)):
    h, s, v = colorsys.rgb_to_hsv(*p)
    np.testing.assert_allclose(q, colorsys.hsv_to_rgb((h - 0.15) % 1.0, s, v), atol=1e-5)


def test_color_jitter_factors_lie_in_the_recipe_ranges():
  image = np.full((4, 4, 3), 0.5, np.float32)  # no clipping for factors up to 2
  factors = [transforms.color_jitter(image, np.random.default_rng(seed), brightness=0.4,
                                     contrast=0.0, saturation=0.0, hue=0.0)[0, 0, 0] / 0.5
             for seed in range(200)]
  assert 0.6 <= min(factors) < 0.7 and 1.3 < max(factors) <= 1.4


# --- sources and errors --------------------------------------------------------------------------

def _write_tfds_imagenet(data_dir: pathlib.Path, labels: dict) -> dict:
  """A real TFDS imagenet2012 (array_record files and metadata), written without TensorFlow."""
  tfds = pytest.importorskip("tensorflow_datasets")
  builder = tfds.builder("imagenet2012", data_dir=str(data_dir), file_format="array_record")
  os.makedirs(builder.data_dir)
  rng = np.random.default_rng(0)
  examples = {}
  for split, split_labels in labels.items():
    examples[split] = []
    for i, label in enumerate(split_labels):
      buffer = io.BytesIO()
      pixels = rng.integers(0, 256, SIZES[i % len(SIZES)] + (3,), dtype=np.uint8)
      Image.fromarray(pixels).save(buffer, "JPEG")
      examples[split].append({"image": buffer.getvalue(), "label": label,
                              "file_name": f"{split}_{i}.JPEG"})
  writer = tfds.core.SequentialWriter(builder.info, max_examples_per_shard=100,
                                      file_format="array_record")
  writer.initialize_splits(list(examples))
  writer.add_examples(examples)
  writer.close_all()
  return examples


def test_tfds_imagenet2012_prepared_as_array_record_streams(tmp_path):
  labels = {"train": [0, 5, 999, 5, 7, 1], "validation": [3, 2, 1]}
  _write_tfds_imagenet(tmp_path, labels)
  dataset = data.open_from_config(config(tmp_path, name="imagenet2012"))
  assert dataset.source.startswith("TFDS imagenet2012") and dataset.num_classes == 1000
  assert (len(dataset.train), len(dataset.test)) == (6, 3)
  batch = next(data.StreamedBatches(dataset.train, 2, seed=0))
  assert batch["image"].shape == (2, 16, 16, 3) and set(batch["label"]) <= set(labels["train"])
  in_order = [label for _, labels_ in data.in_order(dataset.test, 2) for label in labels_]
  assert in_order == labels["validation"]
  assert data.describe(dataset)["splits"]["train"]["label_histogram"] is None  # never read


def test_tfds_imagenet2012_prepared_as_tfrecord_names_the_conversion(tmp_path):
  _write_tfds_imagenet(tmp_path, {"train": [0], "validation": [0]})
  info = next(tmp_path.glob("imagenet2012/*/dataset_info.json"))
  info.write_text(info.read_text().replace('"array_record"', '"tfrecord"'))  # TFDS's default
  with pytest.raises(data.DatasetUnavailableError, match="tfds convert_format.*array_record"):
    imagenet.find(str(tmp_path))


def test_missing_imagenet_says_where_it_looked_and_how_to_provide_it(tmp_path):
  with pytest.raises(data.DatasetUnavailableError) as error:
    data.open_from_config(config(tmp_path))
  message = str(error.value)
  assert str(tmp_path / "train") in message and str(tmp_path / "downloads" / "manual") in message
  assert "(1) the images as a folder tree" in message and "(2) TFDS imagenet2012" in message
  with pytest.raises(data.DatasetUnavailableError, match="no data folder given"):
    data.open_from_config(config(""))
  with pytest.raises(ValueError, match="streamed"):
    data.load_from_config(config(tmp_path))


def test_archives_without_tensorflow_name_the_fix(tmp_path):
  if importlib.util.find_spec("tensorflow") is not None:
    pytest.skip("tensorflow is installed: TFDS would start preparing the (empty) archives")
  pytest.importorskip("tensorflow_datasets")
  manual = tmp_path / "downloads" / "manual"
  manual.mkdir(parents=True)
  (manual / imagenet.ARCHIVES[0]).write_bytes(b"")
  with pytest.raises(data.DatasetUnavailableError, match=f"lacks {imagenet.ARCHIVES[1]}"):
    data.open_from_config(config(tmp_path))
  (manual / imagenet.ARCHIVES[1]).write_bytes(b"")
  with pytest.raises(ImportError, match="pip install tensorflow.*needs no TensorFlow"):
    data.open_from_config(config(tmp_path))


def test_bad_layouts_and_undecodable_files_name_the_folder_or_file(tmp_path):
  root = write_tree(tmp_path / "tree", {"train": 1, "val": 1})
  shutil.rmtree(root / "val" / CLASSES[1])
  with pytest.raises(data.CorruptDataError, match=f"{root / 'val'}.*lacks \\['{CLASSES[1]}'\\]"):
    imagenet.find(str(root))
  (root / "val" / CLASSES[1]).mkdir()
  with pytest.raises(data.CorruptDataError, match=str(root / "val" / CLASSES[1]) + ".*no images"):
    imagenet.find(str(root))
  (root / "val" / CLASSES[1] / "broken.JPEG").write_bytes(b"not a JPEG")
  dataset = data.open_from_config(config(root))
  with pytest.raises(data.CorruptDataError, match="broken.JPEG"):
    list(data.in_order(dataset.test, 2))
  shutil.rmtree(root / "val")
  with pytest.raises(data.CorruptDataError, match=f"{root / 'val'} does not"):
    imagenet.find(str(root))


# --- retraining ----------------------------------------------------------------------------------

TINY = {"network.channels": 4, "network.layers": 3, "data.image_size": 32, "epochs": 1,
        "batch_size": 4, "eval_batch_size": 4, "auxiliary_weight": 0.0, "data.threads": 2,
        "data.workers": 0}


def test_the_recipe_config_is_the_papers():
  c = retrain_imagenet.get_config()
  assert (c.network.layers, c.network.channels, c.batch_size, c.epochs) == (14, 48, 128, 250)
  assert (c.lr, c.lr_gamma, c.schedule, c.weight_decay, c.momentum) == (
      0.1, 0.97, "exponential", 3e-5, 0.9)
  assert (c.label_smoothing, c.auxiliary_weight, c.clip_norm, c.drop_path) == (0.1, 0.4, 5.0, 0.0)
  assert (c.data.name, c.data.image_size, c.data.splits.test) == ("imagenet", 224, "val")


def test_retrain_resumes_a_streamed_run_bit_exactly(tree, tmp_path):
  c = retrain_imagenet.get_config()
  c.update_from_flattened_dict({**TINY, "epochs": 2, "data.data_dir": str(tree)})
  full = retrain.train_and_evaluate(c, str(tmp_path / "full"), report=lambda _: None)
  with pytest.raises(Interrupted):
    retrain.train_and_evaluate(c, str(tmp_path / "cut"), report=interrupt_after_first_epoch)
  resumed = retrain.train_and_evaluate(c, str(tmp_path / "cut"), report=lambda _: None)
  for a, b in zip(full.history, resumed.history, strict=True):
    assert {k: v for k, v in a.items() if not k.endswith("seconds")} == {
        k: v for k, v in b.items() if not k.endswith("seconds")}


def _retrain_script(*flags, timeout=300):
  return subprocess.run(
      [sys.executable, "-m", "experiments.retrain",
       "--config=experiments/configs/retrain_imagenet.py", *flags],
      cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_retrain_script_on_a_folder_tree_with_worker_processes(tree, tmp_path):
  overrides = {**TINY, "data.workers": 1}
  run = _retrain_script(f"--config.data.data_dir={tree}", f"--workdir={tmp_path}",
                        *(f"--config.{k}={v}" for k, v in overrides.items()))
  assert run.returncode == 0, run.stderr[-3000:]
  assert "final-epoch test accuracy: " in run.stdout
  recorded = json.loads((tmp_path / "data.json").read_text())
  assert recorded["splits"]["train"]["examples"] == 15 and recorded["splits"]["test"][
      "examples"] == 6


def test_retrain_script_without_data_fails_naming_the_folder(tmp_path):
  missing = tmp_path / "no_imagenet_here"
  run = _retrain_script(f"--config.data.data_dir={missing}", f"--workdir={tmp_path / 'run'}",
                        timeout=120)
  assert run.returncode != 0
  assert "ImageNet is not available" in run.stderr and "Traceback" not in run.stderr and str(missing / "train") in run.stderr
