"""ImageNet (ILSVRC-2012) read one image at a time, never a whole split: from a folder tree
``DIR/train/<class>/*.JPEG`` + ``DIR/val/<class>/*.JPEG`` (no TensorFlow needed), or from TFDS
``imagenet2012`` prepared in ``DIR`` (array_record files), which TFDS prepares on first use from the
archives placed in ``DIR/downloads/manual`` (that step needs TensorFlow).

Both give the native splits ``train`` (1,281,167 images) and ``val`` (50,000, the split the papers
report), labels 0..999 in the order of the sorted WordNet ids (``n01440764`` ... ``n15075141``) in
both sources. ``load`` cuts split strings from them and returns a ``StreamedDataset``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import os
from typing import Any

import numpy as np
from PIL import Image

from darts_jax.data import splits, streaming, transforms
from darts_jax.data.dataset import CorruptDataError, DatasetUnavailableError

NAMES = ("imagenet", "imagenet2012")  # 'imagenet2012' is TFDS's name, accepted as an alias
TFDS_NAME = "imagenet2012"
TFDS_SPLITS = {"train": "train", "val": "validation"}  # our native split -> TFDS's
ARCHIVES = ("ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar")  # what TFDS expects, by hand
EXTENSIONS = (".jpeg", ".jpg", ".png")  # compared lower-cased: ImageNet's files end in .JPEG
# Our splits as split strings over the native ones. The val folder is the test split (what the
# papers report). 'val' holds out 2% of train for --config.select_on_val; without it, retraining
# joins train and val, i.e. trains on the whole training set as the papers do.
SPLITS = {"train": "train[:98%]", "val": "train[98%:]", "test": "val"}
AUGMENT = ("scale_min", "flip", "jitter", "hue")  # the fields of transforms.Train besides size


@dataclasses.dataclass(frozen=True)
class Native:
  """What a source offers: ``{native split: random-access source of records}``; a record is
  ``{"image": encoded bytes, "label": int, "where": a name for error messages}``."""

  splits: dict
  num_classes: int
  source: str


class FolderSplit:
  """The images under ``folder/<class>/``, in a fixed shuffled order: a permutation seeded by 0 of
  the sorted file list, so that slices such as ``train[98%:]`` cover all classes, as the slices of
  TFDS's shuffled splits do. Only file names are held in memory (~50 MB for ImageNet's train)."""

  def __init__(self, folder: str, classes: tuple[str, ...]):
    files, labels = [], []
    for label, name in enumerate(classes):
      directory = os.path.join(folder, name)
      found = sorted(entry.name for entry in os.scandir(directory)
                     if entry.is_file() and entry.name.lower().endswith(EXTENSIONS))
      if not found:
        raise CorruptDataError(f"the class folder {directory} holds no images "
                               f"({', '.join('*' + e for e in EXTENSIONS)}, any case)")
      files += [os.fsencode(os.path.join(name, file)) for file in found]
      labels += [label] * len(found)
    order = np.random.default_rng(0).permutation(len(files))
    self.folder = folder
    self.files = np.asarray(files, dtype=bytes)[order]
    self.labels = np.asarray(labels, np.int32)[order]

  def __len__(self) -> int:
    return len(self.files)

  def __getitem__(self, i: int) -> dict:
    path = os.path.join(self.folder, os.fsdecode(self.files[i]))
    try:
      with open(path, "rb") as f:
        content = f.read()
    except OSError as e:
      raise CorruptDataError(f"cannot read the image file {path}: {e}") from e
    return {"image": content, "label": self.labels[i], "where": path}


class TfdsSplit:
  """A TFDS data source whose images come undecoded (``SkipDecoding``), as folder files do."""

  labels = None  # reading TFDS labels would read every record

  def __init__(self, source, where: str):
    self.source, self.where = source, where

  def __len__(self) -> int:
    return len(self.source)

  def __getitem__(self, i: int) -> dict:
    record = self.source[i]
    name = record.get("file_name", b"")
    name = name.decode() if isinstance(name, bytes) else str(name)
    return {"image": record["image"], "label": np.int32(record["label"]),
            "where": f"{self.where} example {i} ({name})"}


def decode(record: dict) -> Image.Image:
  """The RGB image of a record (greyscale and CMYK files converted); an undecodable one is an error
  naming its file."""
  try:
    with Image.open(io.BytesIO(record["image"])) as image:
      return image.convert("RGB")
  except Exception as e:  # PIL raises OSError, ValueError, SyntaxError... for damaged files
    raise CorruptDataError(f"cannot decode the image {record['where']}: {e}") from e


@dataclasses.dataclass(frozen=True)
class Prepare:
  """Records to uint8 pixels: ``train_transform`` (with a seeded generator), ``eval_transform``
  (without)."""

  train_transform: transforms.Train
  eval_transform: transforms.Eval

  def train(self, record: dict, rng: np.random.Generator) -> dict:
    return {"image": self.train_transform(decode(record), rng), "label": np.int32(record["label"])}

  def eval(self, record: dict) -> dict:
    return {"image": self.eval_transform(decode(record)), "label": np.int32(record["label"])}


def find(data_dir: str | None) -> Native:
  """The folder tree in ``data_dir``, else TFDS there; raises ``DatasetUnavailableError`` listing
  where it looked and how to provide the data."""
  looked = []
  native = None
  if data_dir:
    native = _folder_tree(data_dir, looked) or _tfds(data_dir, looked)
  else:
    looked.append("nowhere: no data folder given (--config.data.data_dir)")
  if native is None:
    raise DatasetUnavailableError(
        f"ImageNet is not available; looked for: {'; '.join(looked)}. Provide it in one of two "
        "ways, then pass --config.data.data_dir=DIR: (1) the images as a folder tree "
        "DIR/train/<class>/*.JPEG and DIR/val/<class>/*.JPEG, the validation images sorted into "
        "the same class folders as train (e.g. by the widely used valprep.sh); needs no "
        "TensorFlow; (2) TFDS imagenet2012 prepared in DIR (array_record files), or the archives "
        f"{' and '.join(ARCHIVES)} in DIR/downloads/manual, which TFDS prepares on first use "
        "(hours; needs tensorflow)")
  return native


def _folder_tree(data_dir: str, looked: list[str]) -> Native | None:
  train, val = os.path.join(data_dir, "train"), os.path.join(data_dir, "val")
  looked.append(f"the folder tree {train}/<class>/*.JPEG and {val}/<class>/*.JPEG")
  if not os.path.isdir(train):
    return None
  classes = _class_folders(train)
  if not classes:
    raise CorruptDataError(f"{train} holds no class folders; expected {train}/<class>/*.JPEG")
  if not os.path.isdir(val):
    raise CorruptDataError(f"{train} exists but {val} does not; expected {val}/<class>/*.JPEG "
                           "with the class folders of train")
  val_classes = _class_folders(val)
  if val_classes != classes:
    missing = sorted(set(classes) - set(val_classes))
    extra = sorted(set(val_classes) - set(classes))
    raise CorruptDataError(
        f"{val} must hold the class folders of {train} ({len(classes)}); it lacks "
        f"{missing[:5]}{' ...' if len(missing) > 5 else ''} and has extra {extra[:5]}"
        f"{' ...' if len(extra) > 5 else ''}. ImageNet's validation images come in one flat "
        "folder: sort them into class folders (e.g. with valprep.sh)")
  return Native({"train": FolderSplit(train, classes), "val": FolderSplit(val, classes)},
                len(classes), f"ImageNet folder tree {data_dir} ({len(classes)} classes)")


def _class_folders(folder: str) -> tuple[str, ...]:
  return tuple(sorted(entry.name for entry in os.scandir(folder)
                      if entry.is_dir() and not entry.name.startswith(".")))


def _tfds(data_dir: str, looked: list[str]) -> Native | None:
  try:
    import tensorflow_datasets as tfds
  except ImportError:
    looked.append(f"TFDS {TFDS_NAME} (tensorflow-datasets not installed: "
                  "pip install 'darts_jax[tfds]')")
    return None
  builder = tfds.builder(TFDS_NAME, data_dir=data_dir)
  where = f"TFDS {TFDS_NAME} in {builder.data_dir}"
  # the file builder.is_prepared() looks for, checked without its warning about absent folders
  if not os.path.isfile(os.path.join(builder.data_dir, "dataset_info.json")):
    looked.append(f"{where} (not prepared)")
    manual = os.path.join(data_dir, "downloads", "manual")
    archives = [os.path.join(manual, archive) for archive in ARCHIVES]
    looked.append(f"the archives {' and '.join(archives)}")
    present = [path for path in archives if os.path.isfile(path)]
    if not present:
      return None
    if len(present) < len(archives):
      missing = next(path for path in archives if path not in present)
      raise DatasetUnavailableError(f"{manual} holds {os.path.basename(present[0])} but lacks "
                                    f"{os.path.basename(missing)}; TFDS needs both")
    _prepare(tfds, builder, manual)
  try:
    natives = {ours: TfdsSplit(tfds.data_source(TFDS_NAME, split=theirs, data_dir=data_dir,
                                                download=False,
                                                decoders={"image": tfds.decode.SkipDecoding()}),
                               f"{where}, split {theirs},")
               for ours, theirs in TFDS_SPLITS.items()}
  except NotImplementedError as e:  # prepared as TFRecords: no random access
    raise DatasetUnavailableError(
        f"{where} is prepared as TFRecord files, which cannot be read one example at a time (as "
        "seeded, resumable streaming does). Convert them once (reading TFRecords needs "
        f"tensorflow): tfds convert_format --dataset_version_dir={builder.data_dir} "
        "--out_file_format=array_record; or extract the images into the folder tree "
        f"{data_dir}/train/<class>/ and {data_dir}/val/<class>/") from e
  return Native(natives, builder.info.features["label"].num_classes, where)


def _prepare(tfds, builder, manual: str) -> None:
  """TFDS's one-time conversion of the archives into array_record files (hours for ImageNet)."""
  if importlib.util.find_spec("tensorflow") is None:
    raise ImportError(
        f"found the ImageNet archives in {manual}, but TFDS needs TensorFlow to prepare them: "
        f"pip install tensorflow (the first run then writes {builder.data_dir} once, which takes "
        "hours), or extract the archives into DIR/train/<class>/*.JPEG and "
        "DIR/val/<class>/*.JPEG, which needs no TensorFlow")
  builder.download_and_prepare(
      file_format="array_record",
      download_config=tfds.download.DownloadConfig(manual_dir=manual))


def load(config: Any, *, seed: int = 0) -> streaming.StreamedDataset:
  """``config`` (a ConfigDict or dict) has ``name``, ``data_dir``, and optionally ``splits``
  ({train, val, test} split strings over ``train`` and ``val``; an empty string is an empty split),
  ``image_size`` (the training crop; evaluation resizes to ``round(image_size * 256 / 224)``),
  ``augment`` (``transforms.Train``'s scale_min, flip, jitter, hue), ``subset_fraction`` /
  ``subset_size`` (a seeded subset of train and val) and ``threads`` / ``workers`` / ``prefetch``
  (``streaming.Reading``). Lists file names only: no image is read here."""
  get = config.get
  if get("resolution", 0):
    raise ValueError("ImageNet's image size is --config.data.image_size (the training crop); "
                     "resolution applies to in-memory datasets only")
  augment = dict(get("augment") or {})
  unknown = sorted(set(augment) - set(AUGMENT))
  if unknown:
    raise ValueError(f"unknown ImageNet augmentation settings {unknown}; known: {list(AUGMENT)}")
  native = find(get("data_dir") or None)
  size = int(get("image_size", 224))
  prepare = Prepare(transforms.Train(size, **augment),
                    transforms.Eval(size, transforms.eval_resize(size)))
  reading = streaming.Reading(int(get("threads", 8)), int(get("workers", 0)),
                              int(get("prefetch", 2)))
  specs = {**SPLITS, **dict(get("splits") or {})}
  sizes = {name: len(source) for name, source in native.splits.items()}
  parts = {k: streaming.from_parts(native.splits, splits.indices(spec, sizes) if spec else [],
                                   prepare, (size, size, 3), reading, transforms.NORMALIZATION)
           for k, spec in specs.items()}
  fraction, count = get("subset_fraction", 1.0), get("subset_size", 0)
  for i, k in enumerate(("train", "val")):
    parts[k] = _subset(parts[k], fraction, count, [seed, i])
  settings = {"splits": specs, "native_sizes": sizes, "image_size": size,
              "eval_resize": transforms.eval_resize(size),
              "augment": dataclasses.asdict(prepare.train_transform), "subset_fraction": fraction,
              "subset_size": count, "mean": list(transforms.MEAN), "std": list(transforms.STD)}
  return streaming.StreamedDataset(config["name"], parts["train"], parts["val"], parts["test"],
                                   native.num_classes, native.source, settings)


def _subset(split: streaming.StreamedSplit, fraction: float, size: int,
            seed) -> streaming.StreamedSplit:
  """A seeded random subset of ``size`` examples, else of ``fraction``; order kept."""
  count = size or int(round(fraction * len(split)))
  if count >= len(split):
    return split
  return split.take(np.sort(np.random.default_rng(seed).permutation(len(split))[:count]))
