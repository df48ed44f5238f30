"""A run's workdir: what lives where, and the config the run was started with.

Every path goes through `etils.epath`, so a workdir may be a local folder or
a bucket (`gs://bucket/run`; see the README for what that needs installed).
Files are written whole: to a temporary name, then renamed into place.
"""

import json
import os
from typing import Any

from etils import epath
import ml_collections

CONFIG_FILE = 'config.json'


def write_text(path: epath.Path, text: str) -> None:
  """Writes a file whole: a reader sees the old content or the new, never a part."""
  path.parent.mkdir(parents=True, exist_ok=True)
  temporary = path.parent / f'.{path.name}.tmp'
  temporary.write_text(text)
  temporary.replace(path)


def write_bytes(path: epath.Path, content: bytes) -> None:
  """`write_text` for bytes."""
  path.parent.mkdir(parents=True, exist_ok=True)
  temporary = path.parent / f'.{path.name}.tmp'
  temporary.write_bytes(content)
  temporary.replace(path)


def flat_fields(tree: Any, prefix: str = '') -> dict[str, Any]:
  """A config's JSON as {'dotted.field': value}, arrays as lists."""
  if isinstance(tree, dict):
    out = {}
    for key, value in tree.items():
      out.update(flat_fields(value, f'{prefix}{key}.'))
    return out
  return {prefix[:-1]: tree.tolist() if hasattr(tree, 'tolist') else tree}


class Workdir:
  """The paths of one run's workdir.

  Attributes:
    path: the workdir.
    checkpoints: orbax checkpoints, one folder per step.
    samples: sample grids, `step_NNNNNNN.png`.
    tensorboard: TensorBoard event files.
    metrics: `metrics.json`, the latest evaluation.
    evaluations: `evaluations.jsonl`, every evaluation of the run's course
      of training, one JSON line each (`evaluation.record`).
    config: `config.json`, the config the run was started with.
  """

  def __init__(self, path: epath.PathLike):
    self.path = epath.Path(path)
    self.checkpoints = self.path / 'checkpoints'
    self.samples = self.path / 'samples'
    self.tensorboard = self.path / 'tensorboard'
    self.metrics = self.path / 'metrics.json'
    self.evaluations = self.path / 'evaluations.jsonl'
    self.config = self.path / CONFIG_FILE

  def exists(self) -> bool:
    return self.path.exists()

  def sample_grid(self, step: int) -> epath.Path:
    """Where the sample grid of `step` goes."""
    return self.samples / f'step_{step:07d}.png'

  def evaluated_step(self) -> int | None:
    """The step of the evaluation in metrics.json, or None if there is none.

    A metrics.json that does not read counts as none: the run evaluates
    again and rewrites it, rather than refusing to resume over it.
    """
    if not self.metrics.exists():
      return None
    try:
      return int(json.loads(self.metrics.read_text())['step'])
    except (ValueError, KeyError, TypeError):
      return None

  def check_writable(self) -> None:
    """Raises ValueError if this process could not write the run's files here.

    Checked before anything is written, so that a read-only checkpoint
    folder is found at the start, not at the first save. Local paths only:
    a bucket's permissions show at the first write.
    """
    if '://' in str(self.path):
      return
    paths = [self.path, self.checkpoints, self.samples, self.tensorboard]
    existing = [path for path in paths if path.exists()]
    if not self.path.exists():
      # The workdir will be made: its nearest existing parent must let us.
      parent = self.path.absolute().parent
      while not parent.exists():
        parent = parent.parent
      existing.append(parent)
    for path in existing:
      if path.is_dir() and not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(
          f'{path} is not writable by this user, and the run writes there. Make it writable '
          '(chmod u+w), or pass another --workdir.'
        )

  def read_config(self) -> dict[str, Any] | None:
    """The saved config as a dict, or None if the workdir holds none."""
    if not self.config.exists():
      return None
    return json.loads(self.config.read_text())

  def write_config(self, config: ml_collections.ConfigDict) -> None:
    """Saves the config the run is (re)started with."""
    write_text(self.config, config.to_json_best_effort(indent=2, sort_keys=True) + '\n')

  def config_changes(self, config: ml_collections.ConfigDict) -> list[str]:
    """Fields whose value differs from the saved config's, as 'field: old -> new'."""
    saved = self.read_config()
    if saved is None:
      return []
    old = flat_fields(saved)
    new = flat_fields(json.loads(config.to_json_best_effort()))
    return [
      f'{field}: {old.get(field, "(unset)")!r} -> {new.get(field, "(unset)")!r}'
      for field in sorted(set(old) | set(new))
      if old.get(field) != new.get(field)
    ]
