"""What a config asks the input pipeline for, and whether it can be had.

`DataSpec` is the data part of a config as plain values; `dataset_info`
checks it against the data (cheaply: no model is built and nothing compiles
before a config mistake is reported) and says what the model will see.
"""

import dataclasses
from typing import Any

from jaxgan.data import sources
from jaxgan.data import transforms as transforms_lib

# Worker processes that decode batches when a spec does not say: none. The
# batch is then read and transformed on one background thread of the
# training process. Measured on the 2-core machine this library is developed
# on (benchmarks/data_speed.py, 2026-12-01, under load from other jobs):
# that thread delivers ~400,000 MNIST images/s and ~750 JPEG images/s
# (resize 64 + center crop 64), against the ~50 (28x28) and ~15 (64x64)
# images/s that the DCGAN consumes there under the same load (211 at 28x28
# unloaded). Worker processes take 5-14 s to start, compete with XLA for the
# same cores, and there bought nothing beyond noise on JPEGs (760-1,017
# images/s with 1-2 workers) while costing 5x on MNIST (batches cross shared
# memory). Raise it for a folder of JPEGs on a host with spare cores whose
# accelerators consume more images than one core decodes (~750-2,700/s here).
DEFAULT_NUM_WORKERS = 0


@dataclasses.dataclass(frozen=True)
class DataSpec:
  """Which data to read, and how to turn it into training examples.

  Attributes:
    source: a TFDS name, 'bundled_mnist', 'stacked_mnist', 'ring2d',
      'grid2d', or a folder of images ('/data/faces', './faces',
      'gs://bucket/faces', or the name of an existing directory).
    data_dir: the TFDS data directory; None for TFDS's default
      (`$TFDS_DATA_DIR` or `~/tensorflow_datasets`).
    split: the split to read, e.g. 'train' or 'train[:10%]'.
    transforms: what to do to each image.
    num_workers: processes that decode batches in parallel; 0 decodes on a
      background thread of the calling process. Batches are the same for
      every value, so it may change between a run and its resumption.
    config_field: the config path of these fields, used in error messages.
  """

  source: str
  data_dir: str | None = None
  split: str = 'train'
  transforms: transforms_lib.Transforms = transforms_lib.Transforms()
  num_workers: int = DEFAULT_NUM_WORKERS
  config_field: str = 'config.data'

  def __post_init__(self):
    self.transforms.check(self.config_field)
    if (
      not isinstance(self.num_workers, int)
      or isinstance(self.num_workers, bool)
      or self.num_workers < 0
    ):
      raise ValueError(
        f'{self.config_field}.num_workers={self.num_workers!r} must be 0 (decode '
        'on a thread of the training process) or a number of worker processes.'
      )

  @classmethod
  def from_config(cls, config: Any, config_field: str = 'config.data') -> 'DataSpec':
    """Reads the spec from a config's data fields.

    Args:
      config: an `ml_collections.ConfigDict` (or anything with the same
        attributes) with `source`, `data_dir` ('' for TFDS's default),
        `split`, `resize`, `center_crop`, `random_crop`, `pad`, `flip`,
        `channels` and `num_workers` (`pad` may be missing: 0).
      config_field: where `config` sits in the whole config, for messages.

    Returns:
      The `DataSpec`.

    Raises:
      ValueError: for values no data could satisfy (e.g. both crops set).
    """
    return cls(
      source=config.source,
      data_dir=config.data_dir or None,
      split=config.split,
      transforms=transforms_lib.Transforms(
        resize=config.resize,
        center_crop=config.center_crop,
        random_crop=config.random_crop,
        # Absent from the config.json of runs saved before it existed.
        pad=getattr(config, 'pad', 0),
        flip=config.flip,
        channels=config.channels,
      ),
      num_workers=config.num_workers,
      config_field=config_field,
    )


def open_dataset(spec: DataSpec, with_labels: bool):
  """Opens the spec's source and describes its examples after the transforms.

  Returns:
    `(source, info)`: a random-access source (see `sources.open_source`) and
    the `DatasetInfo`.

  Raises:
    ValueError: as `dataset_info`.
  """
  source = sources.open_source(
    spec.source,
    split=spec.split,
    data_dir=spec.data_dir,
    with_labels=with_labels,
    channels=spec.transforms.channels,
    config_field=spec.config_field,
  )
  where = f'{spec.config_field}.source={spec.source!r}'
  if source.feature == sources.POINT_KEY:
    if not spec.transforms.is_identity:
      raise ValueError(
        f'{where} holds 2-D points, not images; set {spec.config_field}.resize, '
        'center_crop, random_crop, pad, channels to 0 and flip to False.'
      )
    shape = tuple(source.example_shape)
  else:
    shape = spec.transforms.output_shape(
      source.example_shape, where=where, config_field=spec.config_field
    )
  info = sources.DatasetInfo(
    source=spec.source,
    shape=tuple(int(n) for n in shape),
    num_classes=source.num_classes,
    num_examples=len(source),
    feature=source.feature,
  )
  return source, info


def dataset_info(
  spec: DataSpec | str, *, with_labels: bool = False, data_dir: str | None = None
) -> sources.DatasetInfo:
  """Describes the examples a spec yields, cheaply enough to validate a config.

  `bundled_mnist` is prepared into the data_dir if it is not there yet (a
  few seconds, once); `stacked_mnist` is built in memory (under a second);
  a folder is listed and its first image decoded. Any other TFDS dataset
  must already be prepared in the `array_record` format.

  Args:
    spec: the `DataSpec`, or a source name for `DataSpec(spec,
      data_dir=data_dir)`.
    with_labels: whether labels will be asked for (a conditional model):
      checks that the source has them and fills `num_classes`.
    data_dir: only with a source name: the TFDS data directory.

  Returns:
    The `DatasetInfo`: `shape` is that of one example after the transforms.

  Raises:
    ValueError: naming the config field to change and how, if the source is
      unknown, unprepared, empty or without labels, or the transforms do not
      fit its images.
  """
  if isinstance(spec, str):
    spec = DataSpec(spec, data_dir=data_dir)
  elif data_dir is not None:
    raise ValueError('data_dir goes into the DataSpec when a DataSpec is given.')
  return open_dataset(spec, with_labels)[1]
