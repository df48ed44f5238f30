"""Training and evaluation data: a streaming input pipeline on grain.

Nothing here imports TensorFlow: TFDS datasets are read through
`tfds.data_source` (ArrayRecord files), and `bundled_mnist` is prepared from
the MNIST files in the repo without it.

- `sources`: what can be read (TFDS image datasets, `stacked_mnist`,
  `mnist2textured`, the 2-D mixtures `ring2d` and `grid2d`, folders of
  PNG/JPEG images), as random-access sources, and `DatasetInfo`.
- `transforms`: per-image resize, crops, flip, channel conversion.
- `spec`: `DataSpec`, the data part of a config, and `dataset_info`.
- `pipeline`: `BatchIterator`, the shuffled, exactly resumable, multi-host
  iterator of uint8 batches, built on grain.
- `mixtures`: the 2-D Gaussian mixtures.
- `textured_mnist`: `mnist2textured`, an unpaired two-domain dataset for
  CycleGAN built offline from MNIST: digits (splits `trainA`, `testA`) and
  digits blended onto generated coloured textures as in MNIST-M (`trainB`,
  `testB`).
- `bundled_mnist`: the offline TFDS builder of MNIST.

Typical use:

  spec = data.DataSpec.from_config(config.data)
  info = data.dataset_info(spec, with_labels=conditional)  # before compiling
  with data.BatchIterator(spec, global_batch_size=..., seed=...,
                          with_labels=conditional) as batches:
    batches.set_state(saved)  # when resuming
    batch = next(batches)     # {'image': uint8 (b, H, W, C), 'label': ...}
"""

from jaxgan.data import mixtures
from jaxgan.data import sources
from jaxgan.data import textured_mnist
from jaxgan.data import transforms
from jaxgan.data.pipeline import BatchIterator
from jaxgan.data.pipeline import check_state
from jaxgan.data.pipeline import epoch_permutation
from jaxgan.data.sources import BUNDLED_MNIST
from jaxgan.data.sources import DatasetInfo
from jaxgan.data.sources import GRID2D
from jaxgan.data.sources import IMAGE_KEY
from jaxgan.data.sources import LABEL_KEY
from jaxgan.data.sources import load_split
from jaxgan.data.sources import MNIST2TEXTURED
from jaxgan.data.sources import POINT_KEY
from jaxgan.data.sources import RING2D
from jaxgan.data.sources import STACKED_MNIST
from jaxgan.data.sources import STACKED_MNIST_CLASSES
from jaxgan.data.sources import STACKED_MNIST_SIZES
from jaxgan.data.sources import stacked_mnist_sources
from jaxgan.data.spec import DataSpec
from jaxgan.data.spec import dataset_info
from jaxgan.data.spec import DEFAULT_NUM_WORKERS
from jaxgan.data.transforms import to_float
from jaxgan.data.transforms import Transforms
