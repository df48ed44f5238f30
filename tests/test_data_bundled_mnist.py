"""Tests for jaxgan.data.bundled_mnist, the offline TFDS builder of MNIST."""

import gzip
import pathlib
import shutil

import pytest

from jaxgan.data import bundled_mnist


def test_the_repo_holds_the_source_files():
  assert (
    bundled_mnist.DEFAULT_SOURCE_DIR
    == pathlib.Path(__file__).resolve().parents[1] / 'data' / 'mnist'
  )
  assert (bundled_mnist.DEFAULT_SOURCE_DIR / 'train-images-idx3-ubyte.gz').is_file()


def test_corrupt_idx_file_fails_the_md5_check(tmp_path):
  source = bundled_mnist.DEFAULT_SOURCE_DIR
  name = 't10k-labels-idx1-ubyte'
  with gzip.open(source / f'{name}.gz', 'rb') as f:
    raw = bytearray(f.read())
  raw[100] = (raw[100] + 1) % 10  # one wrong label
  with gzip.open(tmp_path / f'{name}.gz', 'wb') as f:
    f.write(bytes(raw))
  expected = bundled_mnist._read_md5sums(source)[name]
  with pytest.raises(ValueError, match='MD5'):
    bundled_mnist.read_idx(tmp_path, name, expected_md5=expected)
  # The intact file passes and parses.
  labels = bundled_mnist.read_idx(source, name, expected_md5=expected)
  assert labels.shape == (10_000,)


def test_manual_dir_is_preferred_when_it_holds_the_files(tmp_path):
  class FakeDownloadManager:
    manual_dir = tmp_path

  builder = bundled_mnist.BundledMnist(data_dir=str(tmp_path / 'tfds'))
  assert builder._source_dir(FakeDownloadManager()) == bundled_mnist.DEFAULT_SOURCE_DIR
  for path in bundled_mnist.DEFAULT_SOURCE_DIR.iterdir():
    shutil.copy(path, tmp_path / path.name)
  assert builder._source_dir(FakeDownloadManager()) == pathlib.Path(tmp_path)
