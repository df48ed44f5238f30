"""One results file per benchmark, with a table of variant rows that survives reruns.

A benchmark script rewrites its results file (say `results/stacked_mnist.md`)
whenever its base row is rerun. Its variants (PacGAN, minibatch
discrimination, WGAN-GP, ...) write their full report to a file of their
own, and their summary row into a section at the end of the base file,
below `MARKER`:

  text = keep_section(path, new_base_text)  # the base run keeps the section
  upsert_row(path, title=..., intro=..., header=..., key='PacGAN2', row='| PacGAN2 | ... |')

A row is keyed by its first cell: a rerun of a variant replaces its row, a
new variant adds one.
"""

import os

MARKER = (
  '<!-- Variant rows: each run of a variant replaces its row below; a rerun of the base '
  'row keeps this section. -->'
)


def _split(text: str) -> tuple[str, str]:
  """(text before the section, the section from MARKER on, or '')."""
  index = text.find(MARKER)
  return (text, '') if index < 0 else (text[:index], text[index:])


def _read(path: str) -> str:
  if not os.path.exists(path):
    return ''
  with open(path) as f:
    return f.read()


def keep_section(path: str, text: str) -> str:
  """`text`, followed by the variant section of the file at `path` if it has one."""
  _, section = _split(_read(path))
  if not section:
    return text
  return text.rstrip('\n') + '\n\n' + section


def upsert_row(path: str, *, title: str, intro: str, header: str, key: str, row: str) -> None:
  """Puts `row` in the variant table of the file at `path`, replacing the row of `key`.

  Args:
    path: the base results file; created (with only the section) if absent.
    title: the section's heading, used when the section is created.
    intro: a paragraph under the heading, used when the section is created.
    header: the table's header and separator lines, used when the section is
      created.
    key: the row's first cell (the method's name).
    row: the Markdown table row, one line.
  """
  before, section = _split(_read(path))
  if not section:
    section = '\n'.join([MARKER, f'## {title}', '', intro, '', header, ''])
  lines = section.rstrip('\n').split('\n')
  prefix = f'| {key} |'
  table_rows = [i for i, line in enumerate(lines) if line.startswith('|')]
  replaced = [i for i in table_rows if lines[i].startswith(prefix)]
  if replaced:
    lines[replaced[0]] = row
  else:
    lines.insert(table_rows[-1] + 1, row)
  before = before.rstrip('\n') + '\n\n' if before.strip() else ''
  with open(path, 'w') as f:
    f.write(before + '\n'.join(lines) + '\n')
