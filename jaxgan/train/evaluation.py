"""Evaluating a run's model: draw its evaluation set, score it, write metrics.json.

The training loop also keeps every evaluation it makes in the workdir's
`evaluations.jsonl` (`record`): the run's figures over its course, readable
without TensorBoard, one JSON object per line (`{"step": 2000, "fid": ...}`),
as `pandas.read_json(path, lines=True)` reads them.

Every process draws the same samples (the model's fixed evaluation inputs,
through the same jitted sampler on the replicated state) and computes the
same figures; only process 0 writes them.
"""

import json
import logging
from collections.abc import Sequence
from typing import Any, Callable

import jax
import numpy as np

from jaxgan import eval as eval_lib
from jaxgan import families
from jaxgan.train import steps
from jaxgan.train import workdir as workdir_lib

# Samples per call of the sampler.
SAMPLE_BATCH = 1000


def draw_samples(
  model: families.Model,
  state: Any,
  sample: Callable,
  mesh: jax.sharding.Mesh,
  *,
  num_samples: int,
  seed: int,
  should_stop: Callable[[], bool] = lambda: False,
) -> tuple[np.ndarray, np.ndarray | None] | None:
  """The model's evaluation set: (samples, the class asked of each or None).

  Args:
    model: the family's model.
    state: the run's state.
    sample: `jax.jit(model.sample)`.
    mesh: the mesh the state lies on.
    num_samples: how many samples.
    seed: seed of the evaluation inputs.
    should_stop: polled between batches; when it says so, drawing stops and
      None is returned (a preempted run has seconds to save).
  """
  inputs, labels = model.evaluation_inputs(seed, num_samples)
  samples = sample_in_batches(sample, state, mesh, inputs, should_stop=should_stop)
  return None if samples is None else (samples.astype(np.float32), labels)


def sample_in_batches(
  sample: Callable,
  state: Any,
  mesh: jax.sharding.Mesh,
  inputs: Any,
  *,
  should_stop: Callable[[], bool] = lambda: False,
) -> np.ndarray | None:
  """`sample(state, inputs)` on the host, `SAMPLE_BATCH` inputs per call.

  Returns None if `should_stop`, polled between batches, says so.
  """
  count = len(jax.tree.leaves(inputs)[0])
  batches = []
  for start in range(0, count, SAMPLE_BATCH):
    if should_stop():
      return None
    chunk = jax.tree.map(lambda x: x[start : start + SAMPLE_BATCH], inputs)
    batches.append(steps.to_host(sample(state, steps.replicate(mesh, chunk))))
  return np.concatenate(batches)


def write_report(
  workdir: workdir_lib.Workdir,
  *,
  step: int,
  checkpoint: str | None,
  num_samples: int,
  results: dict[str, float],
  floor: dict[str, float],
  sampler: str,
  evaluator: eval_lib.Evaluator,
) -> None:
  """Writes metrics.json: the figures, and what produced them."""
  report = {
    'step': step,
    'checkpoint': checkpoint,
    'generator': sampler,
    'num_samples': num_samples,
    'reference': evaluator.reference,
    'feature_network': evaluator.feature_network,
    'metrics': results,
    'real_vs_real': floor,
  }
  workdir_lib.write_text(workdir.metrics, json.dumps(report, indent=2) + '\n')


def course(
  evaluations: Sequence[dict[str, float]], step: int, results: dict[str, float]
) -> list[dict[str, float]]:
  """`evaluations` with `step`'s results added after dropping those of `step` and later.

  A run that resumes from a checkpoint older than its last evaluation (after
  kill -9, say) trains and evaluates those steps again; the figures of the
  course it left are no longer the run's.
  """
  return [kept for kept in evaluations if kept['step'] < step] + [{'step': step, **results}]


def read_evaluations(workdir: workdir_lib.Workdir) -> list[dict[str, float]]:
  """The run's evaluations (`evaluations.jsonl`), in step order; [] if it has none.

  A line that does not read is left out with a warning: the file is only
  ever written whole, so such a line was edited by hand.
  """
  if not workdir.evaluations.exists():
    return []
  evaluations = []
  for number, line in enumerate(workdir.evaluations.read_text().splitlines(), start=1):
    try:
      evaluation = json.loads(line)
      int(evaluation['step'])
    except (ValueError, KeyError, TypeError):
      logging.warning('Line %d of %s does not read; left out.', number, workdir.evaluations)
      continue
    evaluations.append(evaluation)
  return evaluations


def record(workdir: workdir_lib.Workdir, *, step: int, results: dict[str, float]) -> None:
  """Adds `step`'s results to the run's `evaluations.jsonl` (see `course`), written whole."""
  evaluations = course(read_evaluations(workdir), step, results)
  workdir_lib.write_text(
    workdir.evaluations, ''.join(json.dumps(evaluation) + '\n' for evaluation in evaluations)
  )


def evaluate(
  model: families.Model,
  state: Any,
  sample: Callable,
  mesh: jax.sharding.Mesh,
  evaluator: eval_lib.Evaluator,
  *,
  num_samples: int,
  seed: int,
  should_stop: Callable[[], bool] = lambda: False,
) -> dict[str, dict[str, float]] | None:
  """Scores the model's evaluation set: {'metrics': ..., 'real_vs_real': ...}.

  Returns None if `should_stop` interrupted the drawing.
  """
  drawn = draw_samples(
    model, state, sample, mesh, num_samples=num_samples, seed=seed, should_stop=should_stop
  )
  if drawn is None:
    return None
  samples, labels = drawn
  results = evaluator(samples, labels if evaluator.reads_labels else None)
  return {'metrics': results, 'real_vs_real': evaluator.real_vs_real(num_samples)}
