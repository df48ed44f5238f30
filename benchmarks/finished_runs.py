"""A benchmark's finished runs, kept beside its report so that later commands count them.

A run at a published length takes hours, and the machine that trains it
may not outlive the benchmark: its workdir, checkpoints and all, goes with
the machine, while the results folder is committed. So when a run
finishes, the benchmark keeps what its report needs (its evaluation, the
evaluations made along the way, its training time, the config it ran, the
command that ran it and jax's version) in one JSON file per report, beside it:
`<results_dir>/<stem>_runs.json`. A later command that asks for the same
run counts the kept one instead of training it again, so that a row of 10
seeds can be trained a seed or two per machine:

  kept = finished_runs.find(results_dir, stem, 'ring/seed_0', run_config)
  if kept is None:
    ...  # train it, then:
    finished_runs.keep(results_dir, stem, 'ring/seed_0', run_config, metrics=..., ...)

A kept run counts only for a config that agrees with the one it ran on
every field the two share, but for the fields that say which runs a command
asks for, where their report goes and where its data is read from
(`BOOKKEEPING`). A field added to the configs since it ran (a new option,
which defaults to the old behaviour) does not discard it; any changed value
does, and the run trains again, its new outcome replacing the kept one.
"""

import datetime
import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from etils import epath
import jax
import ml_collections

from benchmarks import training_time
from jaxgan.train import workdir as workdir_lib

# Fields that choose a command's runs, where their report goes and where the
# data is read from, not how any run trains: a field or, dotted, a field of
# a sub-config.
BOOKKEEPING = frozenset({'num_seeds', 'dataset', 'results_dir', 'data.data_dir'})


class KeptRun(NamedTuple):
  """A finished run as kept: its evaluation at its last step and how it was trained."""

  metrics: dict[str, float]
  training_time: training_time.TrainingTime
  kept_at: str
  # The command that found the run finished (trained it, resumed it or read
  # its workdir) and kept it.
  command: str
  # Where the figures came from when not from the run itself; '' otherwise.
  note: str
  # Its evaluations along the way, in step order, as the loop recorded them
  # (`{'step': ..., <figure>: ...}`: `jaxgan.train.evaluation.record`); none
  # for a run kept before they were.
  evaluations: tuple[dict[str, float], ...] = ()
  # The config it ran, as kept (JSON values).
  config: dict[str, Any] | None = None


def file_name(stem: str) -> str:
  """The name of the file that keeps the finished runs of the report `<stem>.md`."""
  return f'{stem}_runs.json'


def path(results_dir: epath.PathLike, stem: str) -> epath.Path:
  """The file that keeps the finished runs of the report `<results_dir>/<stem>.md`."""
  return epath.Path(results_dir) / file_name(stem)


def _read(results_dir: epath.PathLike, stem: str) -> dict[str, Any]:
  file = path(results_dir, stem)
  return json.loads(file.read_text()) if file.exists() else {}


def _fields(config: ml_collections.ConfigDict | dict[str, Any]) -> dict[str, Any]:
  if isinstance(config, ml_collections.ConfigDict):
    config = json.loads(config.to_json_best_effort())
  return {
    field: value
    for field, value in workdir_lib.flat_fields(config).items()
    if field not in BOOKKEEPING and field.split('.')[0] not in BOOKKEEPING
  }


def differences(kept_config: dict[str, Any], config: ml_collections.ConfigDict) -> list[str]:
  """The shared, not bookkeeping, fields whose values differ, as 'field: kept -> asked'."""
  kept, asked = _fields(kept_config), _fields(config)
  return [
    f'{field}: {kept[field]!r} -> {asked[field]!r}'
    for field in sorted(set(kept) & set(asked))
    if kept[field] != asked[field]
  ]


def find(
  results_dir: epath.PathLike, stem: str, key: str, config: ml_collections.ConfigDict
) -> KeptRun | None:
  """The kept run `key` of the report `stem`, if it ran with `config`; None otherwise."""
  entry = _read(results_dir, stem).get(key)
  if entry is None or differences(entry['config'], config):
    return None
  return _kept_run(entry)


def _kept_run(entry: dict[str, Any]) -> KeptRun:
  record = entry['training_time']
  return KeptRun(
    metrics=entry['metrics'],
    training_time=training_time.TrainingTime(**record)
    if record
    else training_time.TrainingTime(0, 0.0, 0),
    kept_at=entry['kept_at'],
    command=entry['command'],
    note=entry.get('note', ''),
    evaluations=tuple(entry.get('evaluations', ())),
    config=entry['config'],
  )


def every_kept(results_dir: epath.PathLike) -> list[tuple[str, KeptRun]]:
  """Every run kept in `results_dir`, each report's in turn: (its key, the run).

  For what gathers a folder's runs whatever their config (a summary of
  several reports); a command that trains asks `find` for its own.
  """
  return [
    (key, _kept_run(entry))
    for file in sorted(epath.Path(results_dir).glob(file_name('*')))
    for key, entry in json.loads(file.read_text()).items()
  ]


def keep(
  results_dir: epath.PathLike,
  stem: str,
  key: str,
  config: ml_collections.ConfigDict,
  *,
  metrics: dict[str, float],
  record: training_time.TrainingTime | None,
  command: str,
  note: str = '',
  evaluations: Sequence[dict[str, float]] = (),
) -> None:
  """Keeps the finished run `key` of the report `stem`, replacing any kept before.

  `metrics` holds plain numbers (the run's `metrics.json`); `record` None
  says that the run's training time is not known; `evaluations` are the
  run's along the way (its `evaluations.jsonl`), if it has them.
  """
  runs = _read(results_dir, stem)
  runs[key] = {
    'metrics': dict(metrics),
    'training_time': record._asdict() if record else None,
    'kept_at': f'{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC',
    'command': command,
    'jax': jax.__version__,
    'config': json.loads(config.to_json_best_effort()),
  }
  if note:
    runs[key]['note'] = note
  if evaluations:
    runs[key]['evaluations'] = [dict(evaluation) for evaluation in evaluations]
  workdir_lib.write_text(path(results_dir, stem), json.dumps(runs, indent=1, sort_keys=True) + '\n')


def counted_message(count: int, total: int, results_dir: epath.PathLike, stem: str) -> str:
  """What a command prints when `count` of its `total` runs are kept: counted, not trained."""
  return (
    f'{count} of {total} runs are kept finished in {path(results_dir, stem)}: '
    'counted, not trained again.'
  )


def describe(name: str, found: KeptRun) -> str:
  """The kept run `name` and where it came from, as a report's Kept line lists it."""
  origin = f'kept {found.kept_at} from `{found.command}`'
  if found.note:
    origin += f'; {found.note}'
  return f'{name} ({origin})'


def report_lines(stem: str, described: Sequence[str]) -> list[str]:
  """The Kept line of the report `<stem>.md` for the runs `described`; none if there are none."""
  if not described:
    return []
  return [
    f'- Kept runs, counted from `{file_name(stem)}` (beside this file) as an earlier '
    'command found them finished: ' + '; '.join(described) + '.'
  ]
