"""The 2-D rows at PacGAN's length, gathered from their kept runs into the results file.

A row's seeds train one or two at a time, over days and machines, and each
finished run is kept beside its config's report (`finished_runs`). This
gathers a results folder's kept runs, every config's, into the two tables
that `results/mode_collapse_2d.md` shows for a dataset: each row's mean and
standard error over its seeds beside PacGAN's published row, with how far
apart the two are in combined standard errors; and every run's evaluations
along the way, a column per run in the order of the rows and their seeds.
It prints them, or with --write replaces that file's two tables for the
dataset (between their markers) and nothing else:

  python benchmarks/mode_collapse_2d_tables.py --dataset=grid \\
      --results_dir=benchmarks/results/mode_collapse_2d_grid_400k \\
      --write=benchmarks/results/mode_collapse_2d.md
"""

import argparse
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

from etils import epath  # pylint: disable=g-import-not-at-top

from benchmarks import finished_runs
from benchmarks import mode_collapse_2d
from jaxgan.data import mixtures

TABLES = ('rows', 'evaluations')


def gather(
  results_dir: epath.PathLike, dataset: str
) -> dict[str, dict[int, finished_runs.KeptRun]]:
  """The kept runs of `dataset` in `results_dir`, by row (the config's name), then seed.

  Rows come in the order of PacGAN's table, seeds in order.
  """
  rows: dict[str, dict[int, finished_runs.KeptRun]] = {}
  for key, run in finished_runs.every_kept(results_dir):
    run_dataset, seed = key.split('/seed_')
    if run_dataset == dataset:
      rows.setdefault(run.config['name'], {})[int(seed)] = run
  order = list(mode_collapse_2d.PUBLISHED)
  return {
    name: dict(sorted(rows[name].items()))
    for name in sorted(
      rows, key=lambda name: (order.index(name) if name in order else len(order), name)
    )
  }


def combined_errors(ours: tuple[float, float], published: mode_collapse_2d.Published) -> float:
  """How far our mean is from the published one, over the root of the summed squared errors.

  NaN where our error is (a row of one seed has none).
  """
  mean, error = ours
  return (mean - published.mean) / math.hypot(error, published.error)


def _signed(value: float) -> str:
  if math.isnan(value):
    return '—'
  text = f'{value:+.1f}'
  return '0.0' if text in ('+0.0', '-0.0') else text


def rows_table(dataset: str, rows: dict[str, dict[int, finished_runs.KeptRun]]) -> list[str]:
  """Each row's mean ± standard error, the published row, and the distance between them."""
  source, title = mode_collapse_2d.MIXTURES[dataset]
  num_modes = len(mixtures.MIXTURES[source].modes)
  lines = [
    f'| Method | Steps per run | Seeds | {title} modes (max {num_modes}) | {title} high quality '
    f'| {title} reverse KL | Published ({mode_collapse_2d.PUBLISHED_STEPS:,} steps, 10 seeds): '
    'modes, high quality, reverse KL | Ours - published, in combined standard errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |',
  ]
  for name, runs in rows.items():
    steps = {run.config['num_steps'] for run in runs.values()}
    if len(steps) != 1:
      raise ValueError(
        f'The kept {dataset} runs of {name} trained for different lengths ({sorted(steps)} steps): '
        'keep the runs of one length in a results folder of its own.'
      )
    summary = mode_collapse_2d.summarise(
      [mode_collapse_2d.mode_statistics(run.metrics) for run in runs.values()]
    )
    ours = mode_collapse_2d.mean_error_cells(summary)
    published = mode_collapse_2d.PUBLISHED.get(name, {}).get(dataset)
    if published:
      against = ', '.join(mode_collapse_2d.mean_error_cells(published))
      apart = ', '.join(
        _signed(combined_errors(mine, theirs)) for mine, theirs in zip(summary, published)
      )
    else:
      against = apart = '—'
    lines.append(
      f'| {name} | {steps.pop():,} | {len(runs)} | '
      + ' | '.join(ours)
      + f' | {against} | {apart} |'
    )
  return lines


def evaluations_table(rows: dict[str, dict[int, finished_runs.KeptRun]]) -> list[str]:
  """Every kept run's evaluations along the way, a column per run that has them."""
  along_the_way = {
    f'{name} seed {seed}': run.evaluations
    for name, runs in rows.items()
    for seed, run in runs.items()
  }
  lines = mode_collapse_2d.evaluations_table(along_the_way)
  if lines:
    # Its first column's header says what each cell holds.
    first = next(name for name, evaluations in along_the_way.items() if evaluations)
    lines[0] = lines[0].replace(f'| {first} |', f'| {first}: modes, high quality, reverse KL |', 1)
  return lines


def markers(dataset: str, table: str) -> tuple[str, str]:
  """The lines that open and close a generated table in the results file."""
  label = f'mode_collapse_2d_tables.py --dataset={dataset}: {table}'
  return f'<!-- begin {label} -->', f'<!-- end {label} -->'


def replace_between(text: str, dataset: str, table: str, lines: list[str]) -> str:
  """`text` with what lies between the table's markers replaced by `lines`.

  Blank lines set the table off from its markers, so that Markdown ends it there.
  """
  begin, end = markers(dataset, table)
  old = text.split('\n')
  starts = [i for i, line in enumerate(old) if line == begin]
  ends = [i for i, line in enumerate(old) if line == end]
  if len(starts) != 1 or len(ends) != 1 or starts[0] > ends[0]:
    raise ValueError(
      f'The results file needs one line "{begin}" and, below it, one line "{end}" around '
      f'the {dataset} {table} table: add them around the table to replace.'
    )
  return '\n'.join(old[: starts[0] + 1] + ['', *lines, ''] + old[ends[0] :])


def tables(results_dir: epath.PathLike, dataset: str) -> dict[str, list[str]]:
  """The dataset's two tables from the kept runs in `results_dir`."""
  rows = gather(results_dir, dataset)
  if not rows:
    raise ValueError(
      f'{results_dir} keeps no finished {dataset} run (no *_runs.json with a {dataset}/seed_N '
      'entry): pass the results folder of the runs, e.g. '
      f'--results_dir=benchmarks/results/mode_collapse_2d_{dataset}_400k.'
    )
  return {'rows': rows_table(dataset, rows), 'evaluations': evaluations_table(rows)}


def main(argv: list[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
  parser.add_argument('--dataset', required=True, choices=sorted(mode_collapse_2d.MIXTURES))
  parser.add_argument('--results_dir', required=True, help='The folder of the kept runs.')
  parser.add_argument(
    '--write', default=None, help='The results file whose two tables for the dataset to replace.'
  )
  args = parser.parse_args(argv)
  path = None if args.write is None else epath.Path(args.write)
  if path is not None and not path.is_file():
    raise ValueError(
      f'--write={args.write} is not a file: it names the results file whose tables to replace, '
      'e.g. --write=benchmarks/results/mode_collapse_2d.md.'
    )
  made = tables(args.results_dir, args.dataset)
  if path is None:
    for table in TABLES:
      print('\n'.join(made[table]) + '\n')
    return
  text = path.read_text()
  for table in TABLES:
    text = replace_between(text, args.dataset, table, made[table])
  path.write_text(text)
  print(f'Wrote the {args.dataset} tables of {path}')


if __name__ == '__main__':
  try:
    main()
  except ValueError as error:  # Bad input: its one line, not a traceback.
    sys.exit(str(error))
