"""Reading a domain's test images: the fixed inputs of sample grids and evaluations.

A test set is read as the training data are (any source `jaxgan.data` reads),
with the deterministic form of the training transforms: where training
crops a random `random_crop` square out of images resized to `resize`, a
test image is resized to the crop's side and centre-cropped, as the
reference's test options do (load size = crop size, no flip).
"""

import dataclasses

import numpy as np

from jaxgan import data
from jaxgan.data import transforms as transforms_lib


def test_transforms(train: transforms_lib.Transforms) -> transforms_lib.Transforms:
  """The deterministic transforms of test images, for these training transforms."""
  crop = train.crop
  return transforms_lib.Transforms(
    resize=crop or train.resize, center_crop=crop, channels=train.channels
  )


def test_spec(spec: data.DataSpec) -> data.DataSpec:
  """`spec` (of a test split) with the test form of its training transforms."""
  return dataclasses.replace(spec, transforms=test_transforms(spec.transforms))


def size(spec: data.DataSpec) -> int:
  """Images in the test set."""
  return data.dataset_info(spec).num_examples


def read(
  spec: data.DataSpec, indices: np.ndarray, *, with_labels: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
  """The test images at `indices`, float32 (N, H, W, C) in [-1, 1], and their labels.

  Labels are returned only if asked for and the source has them; else None.
  """
  open_split = lambda labels: data.spec.open_dataset(spec, labels)[0]
  labelled = False
  if with_labels:
    try:
      source, labelled = open_split(True), True
    except ValueError:  # A source without labels: the images alone.
      pass
  if not labelled:
    source = open_split(False)
  examples = source.__getitems__([int(i) for i in indices])
  images = np.stack(
    [transforms_lib.apply(e[data.IMAGE_KEY], spec.transforms, rng=None) for e in examples]
  )
  labels = np.asarray([e[data.LABEL_KEY] for e in examples], np.int32) if labelled else None
  return data.to_float(images), labels
