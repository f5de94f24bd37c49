"""Dataset sources: CIFAR python/binary, IDX and ImageNet16 files written here in their real on-disk
layout, TFDS through its mock, real Fashion-MNIST when installed, missing/corrupt-data errors."""

import gzip
import os
import pickle
import tarfile

import numpy as np
import pytest

from darts_jax import data
from darts_jax.data import cifar, idx, imagenet16, sources

TFDS_REASON = "tensorflow-datasets is not installed: pip install 'darts_jax[tfds]'"


def _images(rng, n, h=32, w=32, c=3):
  return rng.integers(0, 256, (n, h, w, c), dtype=np.uint8)


def _cifar_files(name, rng, per_file=3):
  """{file: (images, labels)} for every file of ``name``'s layout (any format: same file stems)."""
  classes = cifar.NUM_CLASSES[name]
  stems = cifar.LAYOUTS[name]["python"][2]
  return {split: [(_images(rng, per_file), rng.integers(0, classes, per_file)) for _ in files]
          for split, files in stems.items()}


def _write_python(root, name, content):
  folder, _, files = cifar.LAYOUTS[name]["python"]
  os.makedirs(os.path.join(root, folder))
  label_key = b"labels" if name == "cifar10" else b"fine_labels"
  for split, parts in content.items():
    for file, (images, labels) in zip(files[split], parts):
      batch = {b"batch_label": file.encode(), label_key: labels.tolist(),
               b"data": images.transpose(0, 3, 1, 2).reshape(len(images), -1),
               b"filenames": [b"x.png"] * len(images)}
      if name == "cifar100":
        batch[b"coarse_labels"] = (labels // 5).tolist()
      with open(os.path.join(root, folder, file), "wb") as f:
        pickle.dump(batch, f, protocol=2)
  meta = "batches.meta" if name == "cifar10" else "meta"
  with open(os.path.join(root, folder, meta), "wb") as f:
    pickle.dump({b"label_names": [b"c%d" % i for i in range(cifar.NUM_CLASSES[name])]}, f)
  return folder


def _write_binary(root, name, content):
  folder, _, files = cifar.LAYOUTS[name]["binary"]
  os.makedirs(os.path.join(root, folder))
  for split, parts in content.items():
    for file, (images, labels) in zip(files[split], parts):
      pixels = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
      label_columns = [labels] if name == "cifar10" else [labels // 5, labels]
      rows = np.concatenate([np.stack(label_columns, 1).astype(np.uint8), pixels], axis=1)
      with open(os.path.join(root, folder, file), "wb") as f:
        f.write(rows.tobytes())
  with open(os.path.join(root, folder, "batches.meta.txt"), "w") as f:
    f.write("\n".join(f"c{i}" for i in range(cifar.NUM_CLASSES[name])))
  return folder


def _pack(root, name, fmt, folder):
  """Replaces ``folder`` by the original archive holding it."""
  archive = os.path.join(root, cifar.LAYOUTS[name][fmt][1])
  with tarfile.open(archive, "w:gz") as tar:
    tar.add(os.path.join(root, folder), arcname=folder)
  for file in os.listdir(os.path.join(root, folder)):
    os.remove(os.path.join(root, folder, file))
  os.rmdir(os.path.join(root, folder))
  return archive


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
@pytest.mark.parametrize("fmt", ["python", "binary"])
@pytest.mark.parametrize("archived", [False, True])
def test_cifar_files_round_trip_exactly(tmp_path, name, fmt, archived):
  content = _cifar_files(name, np.random.default_rng(0))
  folder = (_write_python if fmt == "python" else _write_binary)(tmp_path, name, content)
  if archived:
    _pack(tmp_path, name, fmt, folder)
  raw = sources.find(name, str(tmp_path))
  assert fmt in raw.source and raw.num_classes == cifar.NUM_CLASSES[name]
  for split, parts in content.items():
    images, labels = raw.splits[split]
    np.testing.assert_array_equal(images, np.concatenate([p[0] for p in parts]))
    np.testing.assert_array_equal(labels, np.concatenate([p[1] for p in parts]))
    assert images.dtype == np.uint8 and images.shape[1:] == (32, 32, 3)


def test_cifar_loads_normalized_with_known_statistics(tmp_path):
  content = _cifar_files("cifar10", np.random.default_rng(1), per_file=4)
  _write_binary(tmp_path / "downloads" / "manual", "cifar10", content)
  ds = data.load_from_config({"name": "cifar10", "data_dir": str(tmp_path)})
  train = np.concatenate([p[0] for p in content["train"]])
  assert (len(ds.train), len(ds.val), len(ds.test)) == (10, 10, 4)
  mean, std = (np.asarray(s, np.float32) for s in data.loading.STATS["cifar10"])
  np.testing.assert_array_equal(ds.train.images, train[:10])  # the host keeps the pixels
  np.testing.assert_allclose(ds.train.normalized(), (train[:10] / 255 - mean) / std, rtol=1e-6,
                             atol=1e-6)
  assert ds.train.images.dtype == np.uint8 and ds.train.labels.dtype == np.int32


def _write_idx(path, array):
  header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
  with (gzip.open if path.endswith(".gz") else open)(path, "wb") as f:
    f.write(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_files_round_trip(tmp_path, suffix):
  rng = np.random.default_rng(0)
  arrays = {"train": (_images(rng, 6, 28, 28, 1)[..., 0], rng.integers(0, 10, 6)),
            "test": (_images(rng, 4, 28, 28, 1)[..., 0], rng.integers(0, 10, 4))}
  for split, (images_stem, labels_stem) in idx.FILES.items():
    _write_idx(str(tmp_path / (images_stem + suffix)), arrays[split][0])
    _write_idx(str(tmp_path / (labels_stem + suffix)), arrays[split][1])
  raw = sources.find("mnist", str(tmp_path))
  for split, (images, labels) in arrays.items():
    np.testing.assert_array_equal(raw.splits[split][0], images[..., None])
    np.testing.assert_array_equal(raw.splits[split][1], labels)


def test_real_fashion_mnist_when_installed():
  if not os.path.isdir(sources.DEBIAN_FASHION_MNIST):
    pytest.skip(f"no Fashion-MNIST at {sources.DEBIAN_FASHION_MNIST} "
                "(apt-get install dataset-fashion-mnist)")
  raw = idx.read(sources.DEBIAN_FASHION_MNIST, "fashion_mnist")
  for split, n in (("train", 60_000), ("test", 10_000)):
    images, labels = raw.splits[split]
    assert images.shape == (n, 28, 28, 1) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [n // 10] * 10


def test_tfds_through_the_real_loader(tmp_path):
  tfds = pytest.importorskip("tensorflow_datasets", reason=TFDS_REASON)
  with tfds.testing.mock_data(num_examples=8):  # the mock's "download" is a no-op
    ds = data.load_from_config({"name": "cifar10", "data_dir": str(tmp_path), "download": True,
                                "splits": {"train": "train[:75%]", "val": "train[75%:]"}})
  assert ds.source.startswith("TFDS cifar10") and ds.num_classes == 10
  assert (len(ds.train), len(ds.val), len(ds.test)) == (6, 2, 8)
  assert ds.image_shape == (32, 32, 3) and ds.train.images.dtype == np.uint8
  assert ds.test.labels.dtype == np.int32


def test_missing_dataset_names_where_it_looked_and_three_fixes(tmp_path):
  with pytest.raises(data.DatasetUnavailableError) as error:
    data.load_from_config({"name": "cifar100", "data_dir": str(tmp_path)})
  message = str(error.value)
  assert "'cifar100'" in message and str(tmp_path / "cifar-100-python.tar.gz") in message
  assert "(1) a TFDS-prepared copy" in message and "(2) the original files" in message
  assert "--config.data.name=digits" in message


def test_truncated_binary_batch_names_the_file(tmp_path):
  _write_binary(tmp_path, "cifar10", _cifar_files("cifar10", np.random.default_rng(0)))
  path = tmp_path / "cifar-10-batches-bin" / "data_batch_3.bin"
  path.write_bytes(path.read_bytes()[:-7])
  with pytest.raises(data.CorruptDataError, match="data_batch_3.bin.*truncated"):
    sources.find("cifar10", str(tmp_path))


def test_corrupt_pickle_and_truncated_archive_name_the_file(tmp_path):
  folder = _write_python(tmp_path, "cifar10", _cifar_files("cifar10", np.random.default_rng(0)))
  (tmp_path / folder / "test_batch").write_bytes(b"not a pickle")
  with pytest.raises(data.CorruptDataError, match="test_batch"):
    sources.find("cifar10", str(tmp_path))
  archive = _pack(tmp_path, "cifar10", "python", folder)
  with open(archive, "r+b") as f:
    f.truncate(os.path.getsize(archive) // 2)
  with pytest.raises(data.CorruptDataError, match="cifar-10-python.tar.gz"):
    sources.find("cifar10", str(tmp_path))


def test_truncated_idx_names_the_file(tmp_path):
  for stem in (s for pair in idx.FILES.values() for s in pair):
    _write_idx(str(tmp_path / stem), np.zeros((3, 28, 28) if "images" in stem else (3,)))
  (tmp_path / idx.FILES["test"][0]).write_bytes((tmp_path / idx.FILES["test"][0]).read_bytes()[:-1])
  with pytest.raises(data.CorruptDataError, match="t10k-images-idx3-ubyte.*truncated"):
    sources.find("mnist", str(tmp_path))
  os.remove(tmp_path / idx.FILES["train"][1])
  with pytest.raises(data.CorruptDataError, match="lacks train-labels-idx1-ubyte"):
    sources.find("mnist", str(tmp_path))


def test_imagenet16_pickles_keep_the_first_120_classes(tmp_path):
  folder = tmp_path / imagenet16.FOLDER
  folder.mkdir()
  rng = np.random.default_rng(0)
  written = {}
  for split, files in imagenet16.FILES.items():
    for file in files:
      images, labels = _images(rng, 4, 16, 16), np.array([1, 120, 121, 1000])  # 1-based
      with open(folder / file, "wb") as f:
        pickle.dump({"data": images.transpose(0, 3, 1, 2).reshape(4, -1), "labels": labels}, f)
      written.setdefault(split, []).append(images[:2])
  raw = sources.find("imagenet16_120", str(tmp_path))
  assert raw.num_classes == 120
  np.testing.assert_array_equal(raw.splits["train"][0], np.concatenate(written["train"]))
  assert raw.splits["test"][1].tolist() == [0, 119]


def test_svhn_mat_files_map_label_10_to_0(tmp_path):
  from scipy import io as sio

  rng = np.random.default_rng(0)
  images = _images(rng, 3)
  for split in ("train", "test"):
    sio.savemat(tmp_path / f"{split}_32x32.mat",
                {"X": images.transpose(1, 2, 3, 0), "y": np.array([[10], [1], [9]], np.uint8)})
  raw = sources.find("svhn_cropped", str(tmp_path))
  np.testing.assert_array_equal(raw.splits["test"][0], images)
  assert raw.splits["train"][1].tolist() == [0, 1, 9]
