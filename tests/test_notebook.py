"""notebooks/colab: the .ipynb is the .py pair's, and the notebook runs top to bottom offline."""

import os

import jupytext
import nbformat
import papermill
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, 'notebooks', 'colab.py')
NOTEBOOK = os.path.join(ROOT, 'notebooks', 'colab.ipynb')


def _cells(notebook) -> list[tuple[str, str, list[str]]]:
  return [(c.cell_type, c.source, c.metadata.get('tags', [])) for c in notebook.cells]


def test_the_ipynb_is_made_from_the_py_file():
  source = jupytext.read(SOURCE)
  notebook = nbformat.read(NOTEBOOK, as_version=4)
  assert _cells(notebook) == _cells(source), (
    'notebooks/colab.ipynb differs from notebooks/colab.py; run: jupytext --sync notebooks/colab.py'
  )
  assert notebook.metadata.get('accelerator') == 'TPU'


def test_the_notebook_has_an_install_cell_and_a_parameters_cell():
  tags = [tag for _, _, cell_tags in _cells(jupytext.read(SOURCE)) for tag in cell_tags]
  assert tags.count('install') == 1 and tags.count('parameters') == 1


@pytest.mark.slow
def test_the_notebook_trains_shows_evaluates_and_resumes(tmp_path, data_dir):
  # The install cell clones and pip-installs: offline, the suite's own
  # environment stands in for it.
  notebook = nbformat.read(NOTEBOOK, as_version=4)
  notebook.cells = [c for c in notebook.cells if 'install' not in c.metadata.get('tags', [])]
  offline = tmp_path / 'offline.ipynb'
  nbformat.write(notebook, offline)
  workdir = tmp_path / 'run'
  executed = papermill.execute_notebook(
    str(offline),
    str(tmp_path / 'executed.ipynb'),
    parameters={
      'CONFIG': 'gan',
      'NUM_STEPS': 20,
      'MORE_STEPS': 10,
      'WORKDIR': str(workdir),
      'OVERRIDES': {
        'data.data_dir': data_dir,
        'batch_size': 16,
        'eval_every': 0,  # The notebook's evaluation cell is the one evaluation.
        'eval_samples': 500,
        'sample_every': 10,
        'checkpoint_every': 10,
        'log_every': 10,
      },
    },
    cwd=ROOT,
    kernel_name='python3',
    progress_bar=False,
  )
  outputs = {}
  for cell in executed.cells:
    for output in cell.get('outputs', []):
      for kind, value in output.get('data', {}).items():
        outputs.setdefault(kind, []).append(value)
      if output.get('name') in ('stdout', 'stderr'):
        outputs.setdefault(output['name'], []).append(output['text'])
  text = ''.join(outputs.get('stdout', []) + outputs.get('stderr', []))
  # What each cell shows: the devices, a sample grid and the interpolation
  # as images, the evaluation as a table, and a resume where the first run stopped.
  assert 'jax ' in text and 'device(s)' in text
  pictures = outputs.get('image/png', []) + outputs.get('image/gif', [])
  assert len(pictures) == 2
  # base64 of b'GIF8', the start of every GIF: the second picture is the animation.
  assert pictures[1].startswith('R0lGOD')
  table = ''.join(outputs['text/markdown'])
  assert '| fid |' in table and '| precision |' in table
  assert 'resumed at step 20, now at step 30' in text
  assert (workdir / 'checkpoints' / '30').exists()
  assert (workdir / 'interpolation.gif').exists() and (workdir / 'metrics.json').exists()
