"""CycleGAN's image pool: D sees fakes from G's recent past, not only its latest.

Shrivastava et al. 2017 (section 2.3), as CycleGAN's reference code runs it
(`util/image_pool.py`): a buffer of past fakes per discriminator. Until it is
full, each new fake is stored and shown to D as it is. Once full, each new
fake is, with probability 1/2, shown as it is (and not stored), or else it
replaces a stored fake chosen uniformly, and D is shown that stored one.
Showing D older fakes damps the oscillation between G and D.

Here the pool is a pure function of the state and PRNG keys, so a run that
resumes from a checkpoint sees the same pool. Its slots belong to the
examples of the global batch: slot i holds the past fakes of batch position
i, so under data parallelism each device keeps the slots of its own examples
and, with randomness keyed per example (`jaxgan.parallel`), 8 devices draw
what 1 draws. The reference's pool of 50 is shared by a batch's images; at
its default batch of 1 the two are the same, and at batch B the pool's 50
images are split over the B slots (`slot_size`), so it holds as many images,
as far back in training.
"""

import math

import flax
import jax
import jax.numpy as jnp

# The probability that a full pool shows D a stored fake instead of the new one.
SWAP_PROBABILITY = 0.5


@flax.struct.dataclass
class ImagePool:
  """Past fakes, per example slot.

  Attributes:
    images: (slots, slot_size, H, W, C) stored fakes; zeros where empty.
    count: (slots,) int32, fakes stored in each slot so far (at most slot_size).
  """

  images: jax.Array
  count: jax.Array


def slot_size(pool_size: int, global_batch: int) -> int:
  """Fakes kept per batch position so that the pool holds `pool_size` in all (0: none)."""
  return math.ceil(pool_size / global_batch) if pool_size else 0


def create(slots: int, size: int, image_shape: tuple[int, ...], dtype=jnp.float32) -> ImagePool:
  """An empty pool of `slots` slots of `size` images each."""
  return ImagePool(
    images=jnp.zeros((slots, size, *image_shape), dtype),
    count=jnp.zeros((slots,), jnp.int32),
  )


def _query_slot(
  images: jax.Array, count: jax.Array, fake: jax.Array, key: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
  """One slot: (its images, its count, the image D is shown) after offering `fake`."""
  size = images.shape[0]
  swap_key, index_key = jax.random.split(key)
  filling = count < size
  swap = jnp.logical_and(~filling, jax.random.uniform(swap_key) < SWAP_PROBABILITY)
  index = jnp.where(filling, count, jax.random.randint(index_key, (), 0, size))
  shown = jnp.where(swap, images[index], fake)
  stores = jnp.logical_or(filling, swap)
  images = images.at[index].set(jnp.where(stores, fake, images[index]))
  return images, jnp.minimum(count + 1, size), shown


def query(pool: ImagePool, fakes: jax.Array, keys: jax.Array) -> tuple[ImagePool, jax.Array]:
  """Offers a batch of new fakes to the pool: (the new pool, what D is shown).

  Args:
    pool: the pool, one slot per example of `fakes`.
    fakes: (slots, H, W, C), the new fakes (gradients are not taken through).
    keys: (slots,) PRNG keys, one per example.

  Returns:
    The pool after storing, and (slots, H, W, C): for each slot the new fake,
    or a stored one it replaced.
  """
  fakes = jax.lax.stop_gradient(fakes)
  if pool.images.shape[1] == 0:
    return pool, fakes
  images, count, shown = jax.vmap(_query_slot)(
    pool.images, pool.count, fakes.astype(pool.images.dtype), keys
  )
  return ImagePool(images=images, count=count), shown.astype(fakes.dtype)
