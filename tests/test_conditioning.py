"""Tests of the argument checks shared by the conditional networks."""

import jax.numpy as jnp
import pytest

from jaxgan.nn import conditioning

_LABELS = jnp.zeros((4,), jnp.int32)


def test_check_labels_accepts_matching_use():
  conditioning.check_labels(None, num_classes=0, batch=4, module='M')
  conditioning.check_labels(_LABELS, num_classes=3, batch=4, module='M')


@pytest.mark.parametrize(
  'labels,num_classes,match',
  [
    (_LABELS, 0, 'M is unconditional'),
    (None, 3, 'M has num_classes=3 and needs labels'),
    (_LABELS[:2], 3, r'shape \(4,\)'),
    (_LABELS[:, None], 3, r'shape \(4,\)'),
  ],
  ids=['labels_to_unconditional', 'missing_labels', 'short', 'not_a_vector'],
)
def test_check_labels_rejects_misuse(labels, num_classes, match):
  with pytest.raises(ValueError, match=match):
    conditioning.check_labels(labels, num_classes=num_classes, batch=4, module='M')


def test_check_conditioning():
  for name in ('concat', 'projection'):
    conditioning.check_conditioning(name)
  with pytest.raises(ValueError, match="'hidden'"):
    conditioning.check_conditioning('hidden')


@pytest.mark.parametrize('packing,num_classes', [(0, 0), (-1, 0), (2, 10)])
def test_check_packing_rejects(packing, num_classes):
  with pytest.raises(ValueError, match='packing'):
    conditioning.check_packing(packing, num_classes=num_classes, module='M')


def test_check_packing_accepts():
  conditioning.check_packing(1, num_classes=10, module='M')
  conditioning.check_packing(4, num_classes=0, module='M')
