"""What `train.py`, `evaluate.py` and `sample.py` share: a mistake is one line.

A user who mistypes a config field, points at the wrong workdir or meets a
diverged run wants the problem and the fix, not fifty lines of frames from
absl, ml_collections or orbax. The full trace is still logged at debug
level (`--verbosity=1`).
"""

import contextlib
import difflib
import logging
import runpy
import sys
from typing import Iterator, Sequence

from absl import flags
import ml_collections

from jaxgan.train import checkpointing

# Errors that jaxgan raises with a message meant for the user.
USER_ERRORS = (ValueError, FloatingPointError, checkpointing.DamagedCheckpointError)


def _exit_with(message: str) -> None:
  print(message, file=sys.stderr, flush=True)
  sys.exit(1)


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
  """Turns a `USER_ERRORS` exception into its message on stderr and exit status 1."""
  try:
    yield
  except USER_ERRORS as error:
    logging.debug('Stopped by this error:', exc_info=True)
    _exit_with(f'{type(error).__name__}: {error}')


def _config_fields(config: ml_collections.ConfigDict, prefix: str = '') -> list[str]:
  names = []
  for key, value in config.items():
    names.append(prefix + key)
    if isinstance(value, ml_collections.ConfigDict):
      names += _config_fields(value, f'{prefix}{key}.')
  return names


def unknown_field(config: ml_collections.ConfigDict, fields: Sequence[str]) -> str | None:
  """The first of `fields` ('a.b') that `config` lacks, or None."""
  for field in fields:
    value = config
    for part in field.split('.'):
      if not isinstance(value, ml_collections.ConfigDict) or part not in value:
        return field
      value = value[part]
  return None


def unknown_field_message(config: ml_collections.ConfigDict, config_file: str, field: str) -> str:
  """One line for `--config.<field>` naming a field that the config lacks."""
  nearest = difflib.get_close_matches(field, _config_fields(config), n=3, cutoff=0.6)
  hint = f' Did you mean {" or ".join(f"--config.{n}" for n in nearest)}?' if nearest else ''
  return f'--config.{field}: {config_file} has no such field.{hint}'


def parse_flags(argv: Sequence[str]) -> list[str]:
  """absl's flag parsing, with an override of a field the config lacks as one line.

  For `app.run(main, flags_parser=parse_flags)`.
  """
  try:
    return flags.FLAGS(argv)
  except (AttributeError, KeyError):
    # ml_collections applies --config.<field> overrides while it parses, and
    # raises from deep inside for a field the config lacks.
    logging.debug('Parsing the flags failed:', exc_info=True)
    config_file = next((a.split('=', 1)[1] for a in argv if a.startswith('--config=')), None)
    overrides = [a.split('=', 1)[0].removeprefix('--config.') for a in argv if a.startswith('--config.')]
    if config_file is not None:
      config = runpy.run_path(config_file)['get_config']()
      field = unknown_field(config, overrides)
      if field is not None:
        _exit_with(unknown_field_message(config, config_file, field))
    raise
  except flags.Error as error:
    _exit_with(f'{error}\nPass --helpfull to see the flags.')
