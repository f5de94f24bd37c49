"""CIFAR-10/100 readers for the files as distributed: the python (pickle) and the binary format,
each either extracted or as the original ``.tar.gz``.

The python format is pickled numpy data; read only archives you trust, as with any pickle.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile

import numpy as np

from darts_jax.data.dataset import CorruptDataError, RawDataset

_PIXELS = 32 * 32 * 3

# name -> format -> (extracted folder, archive, {split: [files in the folder]})
LAYOUTS = {
    "cifar10": {
        "python": ("cifar-10-batches-py", "cifar-10-python.tar.gz",
                   {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}),
        "binary": ("cifar-10-batches-bin", "cifar-10-binary.tar.gz",
                   {"train": [f"data_batch_{i}.bin" for i in range(1, 6)],
                    "test": ["test_batch.bin"]}),
    },
    "cifar100": {
        "python": ("cifar-100-python", "cifar-100-python.tar.gz",
                   {"train": ["train"], "test": ["test"]}),
        "binary": ("cifar-100-binary", "cifar-100-binary.tar.gz",
                   {"train": ["train.bin"], "test": ["test.bin"]}),
    },
}
NUM_CLASSES = {"cifar10": 10, "cifar100": 100}


def candidates(name: str, directory: str) -> list[str]:
  """The folders and archives, in the order tried, where ``name`` may lie under ``directory``."""
  return [os.path.join(directory, entry)
          for layout in LAYOUTS[name].values() for entry in layout[:2]]


def read(name: str, path: str) -> RawDataset:
  """Reads one candidate path (a folder or an archive from ``candidates``)."""
  for fmt, (folder, archive, files) in LAYOUTS[name].items():
    if os.path.basename(path) == folder:
      contents, where = _folder_reader(path), lambda f: os.path.join(path, f)
    elif os.path.basename(path) == archive:
      contents, where = _archive_reader(path, folder), lambda f: f"{path}:{folder}/{f}"
    else:
      continue
    decode = _decode_python if fmt == "python" else _decode_binary
    splits = {}
    for split, names in files.items():
      parts = [decode(name, contents(f), where(f)) for f in names]
      splits[split] = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    return RawDataset(splits, NUM_CLASSES[name], f"{fmt}-format {name} files at {path}")
  raise ValueError(f"{path} is not a {name} folder or archive")


def _folder_reader(folder: str):
  def contents(file: str) -> bytes:
    try:
      with open(os.path.join(folder, file), "rb") as f:
        return f.read()
    except FileNotFoundError as e:
      raise CorruptDataError(f"the folder {folder} lacks {file}") from e
  return contents


def _archive_reader(archive: str, folder: str):
  """Reads every member once (an archive is read sequentially) and serves them by file name."""
  try:
    with tarfile.open(archive, "r:gz") as tar:
      members = {m.name.split("/", 1)[-1]: tar.extractfile(m).read()
                 for m in tar if m.isfile() and m.name.startswith(folder + "/")}
  except (tarfile.TarError, OSError, EOFError) as e:
    raise CorruptDataError(f"cannot read the archive {archive}: {e}") from e

  def contents(file: str) -> bytes:
    if file not in members:
      raise CorruptDataError(f"the archive {archive} lacks {folder}/{file}")
    return members[file]
  return contents


def _decode_python(name: str, raw: bytes, where: str):
  try:
    batch = pickle.load(io.BytesIO(raw), encoding="bytes")
    pixels = np.asarray(batch[b"data"], np.uint8)
    labels = np.asarray(batch[b"labels" if name == "cifar10" else b"fine_labels"], np.int32)
  except Exception as e:  # any unpickling failure means the file is damaged
    raise CorruptDataError(f"{where} is not a readable {name} python batch: {e!r}") from e
  if pixels.ndim != 2 or pixels.shape[1] != _PIXELS or len(pixels) != len(labels):
    raise CorruptDataError(f"{where}: data of shape {pixels.shape} with {len(labels)} labels; "
                           f"expected [N, {_PIXELS}] and N labels")
  return _to_nhwc(pixels), labels


def _decode_binary(name: str, raw: bytes, where: str):
  label_bytes = 1 if name == "cifar10" else 2  # CIFAR-100 records hold coarse then fine label
  record = label_bytes + _PIXELS
  if not raw or len(raw) % record:
    raise CorruptDataError(f"{where}: {len(raw)} bytes is not a whole number of {record}-byte "
                           "records (truncated?)")
  rows = np.frombuffer(raw, np.uint8).reshape(-1, record)
  return _to_nhwc(rows[:, label_bytes:]), rows[:, label_bytes - 1].astype(np.int32)


def _to_nhwc(pixels: np.ndarray) -> np.ndarray:
  return pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
