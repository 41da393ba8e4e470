"""Shell completion of the project's names, answered before typer, rich and the API load.

A TAB after ``--coder``, ``--code``, ``--case``, ``--by``, ``matrix case``… offers names
read from the project. Through typer that costs 0.3-0.5 s (typer, rich, pydantic and the
facade are imported and the whole command tree is built, for one list of names); the
target is < 0.2 s. ``qda/__init__.py`` calls :func:`answer_from_environment` when the shell
asks (``_QDA_COMPLETE=complete_…``): it reads the words the way click does, and when the
word being completed is the value of an option or argument that offers project names it
prints exactly what typer would print and exits. Anything else (command and option
names, choices, files, an unusual line) returns without a word and typer answers.

:data:`SPEC` is the command tree's part that matters here, written out; a test rebuilds it
from the typer app and fails, printing the new literal, when a command changes.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from typing import Any

#: The option of the root command that takes a value (the project folder); click moves it
#: in front of the subcommand wherever it is typed (``QdaGroup.parse_args``).
PROJECT_OPTIONS = ("-p", "--project")


def split_words(line: str) -> list[str]:
    """The words of a command line as click splits them (shlex; an open quote is kept as is)."""
    lex = shlex.shlex(line, posix=True)
    lex.whitespace_split = True
    lex.commenters = ""
    out: list[str] = []
    try:
        out.extend(lex)
    except ValueError:  # an unclosed quote or escape: the partial word as typed
        out.append(lex.token)
    return out


def _request(environ: dict[str, str] | os._Environ[str]) -> tuple[str, list[str], str] | None:
    """(shell, complete words after the program name, the word being completed) or None."""
    instruction = environ.get("_QDA_COMPLETE", "")
    action, _, shell = instruction.partition("_")
    if action != "complete":
        return None
    if shell == "bash":
        words = split_words(environ.get("COMP_WORDS", ""))
        try:
            cword = int(environ.get("COMP_CWORD", ""))
        except ValueError:
            return None
        return shell, words[1:cword], words[cword] if cword < len(words) else ""
    line = environ.get("_TYPER_COMPLETE_ARGS", "")
    words = split_words(line)[1:]
    if shell in ("zsh", "fish"):
        if words and not line.endswith(" "):
            return shell, words[:-1], words[-1]
        return shell, words, ""
    if shell in ("powershell", "pwsh"):
        incomplete = environ.get("_TYPER_COMPLETE_WORD_TO_COMPLETE", "")
        return shell, words[:-1] if incomplete else words, incomplete
    return None


def _target(args: list[str], incomplete: str) -> tuple[str, str, str | None] | None:
    """(kind, suffix, project folder) of the names the word being completed takes, or None
    when typer must answer. Mirrors click's ``_resolve_context`` / ``_resolve_incomplete``
    for the commands in :data:`SPEC`."""
    if incomplete.startswith("-") or incomplete == "=" or "--" in args:
        return None  # option names, or click's special cases
    project: str | None = None
    rest: list[str] = []
    i = 0
    while i < len(args):  # as QdaGroup.parse_args: the project option wherever it is
        arg = args[i]
        if arg in PROJECT_OPTIONS:
            if i + 1 >= len(args):
                return None
            project = args[i + 1]
            i += 2
            continue
        if arg.startswith("--project="):
            project = arg.partition("=")[2]
        elif arg not in ("-q", "--quiet"):
            rest.append(arg)
        i += 1
    path: list[str] = []
    commands: dict[str, Any] = SPEC["commands"]
    groups: dict[str, list[str]] = SPEC["groups"]
    position = 0
    while " ".join(path) in groups:  # the (sub)command named, group by group
        while position < len(rest) and rest[position].startswith("-"):
            if rest[position] not in SPEC["root_flags"] or path:
                return None
            position += 1
        if position >= len(rest) or rest[position] not in groups[" ".join(path)]:
            return None  # completing a command name, or an unknown word
        path.append(rest[position])
        position += 1
    command = commands.get(" ".join(path))
    if command is None:
        return None
    values: dict[str, list[Any]] = command["options"]  # option name -> [kind or None, suffix]
    if args and args[-1] in values:  # the value of an option (click looks at the last word as typed)
        kind, suffix = values[args[-1]]
        return (kind, suffix, project) if kind else None
    given = 0
    words = rest[position:]
    j = 0
    while j < len(words):
        word = words[j]
        if word.startswith("-") and len(word) > 1:
            name = word.partition("=")[0]
            if name not in values and name not in command["flags"]:
                return None
            j += 2 if name in values and "=" not in word else 1
            continue
        given += 1
        j += 1
    for kind, suffix, nargs in command["arguments"]:
        if nargs == -1 or given < nargs:
            return (kind, suffix, project) if kind else None
        given -= nargs
    return None


def names(kind: str, suffix: str, project: str | None, incomplete: str) -> list[str]:
    """The project's names of ``kind`` that start with ``incomplete`` (none when there is no
    readable project: a completion never prints an error into the shell)."""
    try:
        if kind in SPEC["static"]:  # not the project's (the figures qda draws)
            found = SPEC["static"][kind]
        else:
            from qda.peek import project_names

            found = project_names(project)[kind]
    except Exception:  # noqa: BLE001  (no project here, a damaged one...: nothing to offer)
        return []
    return [name + suffix for name in found if name.startswith(incomplete) and (name + suffix).startswith(incomplete)]


def _zsh_escape(value: str) -> str:
    return (value.replace('"', '""').replace("'", "''").replace("$", "\\$").replace("`", "\\`")
            .replace(":", r"\\:"))


def render(shell: str, values: list[str], environ: dict[str, str] | os._Environ[str]) -> tuple[str | None, int]:
    """What typer prints for these values in this shell (None: nothing at all), and the exit code."""
    if shell == "bash":
        return "\n".join(values), 0
    if shell == "zsh":
        if not values:
            return "_files", 0
        return "_arguments '*: :((" + "\n".join(f'"{_zsh_escape(v)}"' for v in values) + "))'", 0
    if shell == "fish":
        action = environ.get("_TYPER_COMPLETE_FISH_ACTION", "")
        if action == "is-args":  # typer exits before printing
            return None, 0 if values else 1
        return ("\n".join(values) if action == "get-args" and values else ""), 0
    return "\n".join(f"{v}::: " for v in values), 0


def answer(environ: dict[str, str] | os._Environ[str]) -> tuple[str | None, int] | None:
    """The completion's output and exit code, or None when typer must answer."""
    request = _request(environ)
    if request is None:
        return None
    shell, args, incomplete = request
    target = _target(args, incomplete)
    if target is None:
        return None
    kind, suffix, project = target
    return render(shell, names(kind, suffix, project, incomplete), environ)


def answer_from_environment() -> None:
    """Print the answer and exit, when this process is a completion this module can answer."""
    if not re.fullmatch(r"qda(\.exe)?", os.path.basename(sys.argv[0] or "")):
        return  # typer names the variable after the program: only `qda` reads _QDA_COMPLETE
    try:
        found = answer(os.environ)
    except Exception:  # noqa: BLE001  (a surprise here must not cost the user typer's answer)
        return
    if found is None:
        return
    text, code = found
    if text is not None:  # as click.echo prints it
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    sys.exit(code)


# The part of the command tree completion needs; regenerated by tests/test_completion_fast.py
# (it prints the literal when the app has changed).
SPEC: dict[str, Any] = {'groups': {'': ['agree',
                 'backup',
                 'blind',
                 'check',
                 'code',
                 'codebook',
                 'doctor',
                 'document',
                 'export',
                 'figure',
                 'history',
                 'import',
                 'init',
                 'matrix',
                 'report',
                 'retrieve',
                 'search',
                 'serve',
                 'set',
                 'speakers',
                 'status',
                 'suggest',
                 'undo',
                 'users',
                 'version',
                 'words'],
            'import': ['cases', 'qdpx', 'survey', 'taguette', 'transcripts'],
            'codebook': ['add', 'export', 'import', 'load', 'merge', 'rename', 'show', 'validate'],
            'code': ['adjudicate', 'adjudication-sheet', 'auto', 'delete-coder', 'import', 'sheet'],
            'matrix': ['case', 'cases', 'cooccur', 'cross', 'split'],
            'export': ['document', 'qdpx', 'taguette-codebook', 'workbook'],
            'document': ['delete', 'resplit'],
            'backup': ['config', 'list', 'restore'],
            'users': ['add', 'disable', 'list', 'password', 'remove', 'role', 'unlock'],
            'set': ['add', 'list'],
            'suggest': ['accept',
                        'bias',
                        'curve',
                        'explain',
                        'provenance',
                        'run',
                        'sample',
                        'train',
                        'validate']},
 'root_flags': ['--csv-safe',
                '--install-completion',
                '--no-snapshot',
                '--quiet',
                '--show-completion',
                '-q',
                '--help'],
 'commands': {'version': {'options': {}, 'flags': ['--help'], 'arguments': []},
              'init': {'options': {'--format': [None, ''],
                                   '--lang': [None, ''],
                                   '--unit': [None, ''],
                                   '-f': [None, '']},
                       'flags': ['--help'],
                       'arguments': [[None, '', 1]]},
              'status': {'options': {'--format': [None, ''], '-f': [None, '']},
                         'flags': ['--help'],
                         'arguments': []},
              'speakers': {'options': {'--format': [None, ''], '--set-role': [None, ''], '-f': [None, '']},
                           'flags': ['--help'],
                           'arguments': []},
              'agree': {'options': {'--bootstrap': [None, ''],
                                    '--case': ['cases', ''],
                                    '--categories': [None, ''],
                                    '--code': ['codes', ''],
                                    '--document': [None, ''],
                                    '--format': [None, ''],
                                    '--html': [None, ''],
                                    '--min-alpha': [None, ''],
                                    '--min-kappa': [None, ''],
                                    '--output': [None, ''],
                                    '--overlap': [None, ''],
                                    '--role': [None, ''],
                                    '--seed': [None, ''],
                                    '--set': [None, ''],
                                    '--table': [None, ''],
                                    '--tolerance': [None, ''],
                                    '--unit': [None, ''],
                                    '--xlsx': [None, ''],
                                    '-f': [None, ''],
                                    '-o': [None, '']},
                        'flags': ['--disagreements', '--exclude-uncoded', '--help'],
                        'arguments': [['coders', '', -1]]},
              'retrieve': {'options': {'--by': ['case_attributes', ''],
                                       '--case': ['cases', ''],
                                       '--code': ['codes', ''],
                                       '--coder': ['coders', ''],
                                       '--context': [None, ''],
                                       '--document': [None, ''],
                                       '--format': [None, ''],
                                       '--match': [None, ''],
                                       '--not': ['codes', ''],
                                       '--output': [None, ''],
                                       '--per-code': [None, ''],
                                       '--set': [None, ''],
                                       '--where': ['case_attributes', '='],
                                       '-c': ['coders', ''],
                                       '-f': [None, ''],
                                       '-o': [None, '']},
                           'flags': ['--help'],
                           'arguments': []},
              'words': {'options': {'--by': [None, ''],
                                    '--format': [None, ''],
                                    '--prior': [None, ''],
                                    '--role': [None, ''],
                                    '--set': [None, ''],
                                    '--top': [None, ''],
                                    '--unit': [None, ''],
                                    '-f': [None, '']},
                        'flags': ['--all-roles', '--distinctive', '--help', '--keep-stop-words'],
                        'arguments': []},
              'search': {'options': {'--by': [None, ''],
                                     '--code': ['codes', ''],
                                     '--coder': ['coders', ''],
                                     '--format': [None, ''],
                                     '--mode': [None, ''],
                                     '--role': [None, ''],
                                     '--set': [None, ''],
                                     '--width': [None, ''],
                                     '-c': ['coders', ''],
                                     '-f': [None, '']},
                         'flags': ['--help'],
                         'arguments': [[None, '', 1]]},
              'figure': {'options': {'--by': ['case_attributes', ''],
                                     '--code-attr': ['code_attributes', ''],
                                     '--coder': ['coders', ''],
                                     '--count': [None, ''],
                                     '--group': [None, ''],
                                     '--lang': [None, ''],
                                     '--level': [None, ''],
                                     '--measure': [None, ''],
                                     '--output': [None, ''],
                                     '--set': [None, ''],
                                     '--size': [None, ''],
                                     '-c': ['coders', ''],
                                     '-o': [None, '']},
                         'flags': ['--help', '--labels'],
                         'arguments': [['figure_kinds', '', 1]]},
              'report': {'options': {'--agree': [None, ''],
                                     '--bootstrap': [None, ''],
                                     '--by': ['case_attributes', ''],
                                     '--code-attr': ['code_attributes', ''],
                                     '--coder': ['coders', ''],
                                     '--lang': [None, ''],
                                     '--output': [None, ''],
                                     '--per-code': [None, ''],
                                     '--set': [None, ''],
                                     '-c': ['coders', ''],
                                     '-o': [None, '']},
                         'flags': ['--help'],
                         'arguments': []},
              'doctor': {'options': {'--format': [None, ''], '-f': [None, '']},
                         'flags': ['--help', '--languages'],
                         'arguments': []},
              'check': {'options': {'--format': [None, ''], '-f': [None, '']},
                        'flags': ['--help'],
                        'arguments': []},
              'history': {'options': {'--format': [None, ''], '-f': [None, '']},
                          'flags': ['--help'],
                          'arguments': []},
              'undo': {'options': {'--format': [None, ''], '-f': [None, '']},
                       'flags': ['--help', '--include-others', '--yes', '-y'],
                       'arguments': []},
              'serve': {'options': {'--allowed-host': [None, ''],
                                    '--coder': [None, ''],
                                    '--host': [None, ''],
                                    '--port': [None, ''],
                                    '-c': [None, '']},
                        'flags': ['--behind-https-proxy',
                                  '--help',
                                  '--open',
                                  '--secure-cookies',
                                  '--unblind'],
                        'arguments': []},
              'blind': {'options': {'--format': [None, ''], '-f': [None, '']},
                        'flags': ['--help'],
                        'arguments': [[None, '', 1]]},
              'import transcripts': {'options': {'--case': [None, ''],
                                                 '--format': [None, ''],
                                                 '--jobs': [None, ''],
                                                 '--lang': [None, ''],
                                                 '-f': [None, '']},
                                     'flags': ['--fast', '--help', '--replace'],
                                     'arguments': [[None, '', -1]]},
              'import survey': {'options': {'--format': [None, ''],
                                            '--id': [None, ''],
                                            '--lang': [None, ''],
                                            '--text': [None, ''],
                                            '-f': [None, '']},
                                'flags': ['--help'],
                                'arguments': [[None, '', 1]]},
              'import cases': {'options': {'--format': [None, ''], '-f': [None, '']},
                               'flags': ['--help'],
                               'arguments': [[None, '', 1]]},
              'import qdpx': {'options': {'--coder': [None, ''],
                                          '--format': [None, ''],
                                          '-c': [None, ''],
                                          '-f': [None, '']},
                              'flags': ['--allow-outside', '--help'],
                              'arguments': [[None, '', 1]]},
              'import taguette': {'options': {'--coder': [None, ''],
                                              '--format': [None, ''],
                                              '-c': [None, ''],
                                              '-f': [None, '']},
                                  'flags': ['--help'],
                                  'arguments': [[None, '', 1]]},
              'codebook validate': {'options': {'--format': [None, ''], '-f': [None, '']},
                                    'flags': ['--help'],
                                    'arguments': [[None, '', 1]]},
              'codebook load': {'options': {'--format': [None, ''], '-f': [None, '']},
                                'flags': ['--help'],
                                'arguments': [[None, '', 1]]},
              'codebook show': {'options': {'--format': [None, ''], '--lang': [None, ''], '-f': [None, '']},
                                'flags': ['--help'],
                                'arguments': []},
              'codebook add': {'options': {'--definition': [None, ''],
                                           '--format': [None, ''],
                                           '--label': [None, ''],
                                           '--parent': ['codes', ''],
                                           '-f': [None, ''],
                                           '-l': [None, '']},
                               'flags': ['--help'],
                               'arguments': [[None, '', 1]]},
              'codebook rename': {'options': {'--format': [None, ''],
                                              '--label': [None, ''],
                                              '--lang': [None, ''],
                                              '-f': [None, ''],
                                              '-l': [None, '']},
                                  'flags': ['--help'],
                                  'arguments': [['codes', '', 1], [None, '', 1]]},
              'codebook merge': {'options': {'--format': [None, ''],
                                             '--into': ['codes', ''],
                                             '-f': [None, '']},
                                 'flags': ['--help'],
                                 'arguments': [['codes', '', -1]]},
              'codebook import': {'options': {'--format': [None, ''], '-f': [None, '']},
                                  'flags': ['--allow-outside', '--help'],
                                  'arguments': [[None, '', 1]]},
              'codebook export': {'options': {'--format': [None, ''],
                                              '--output': [None, ''],
                                              '-f': [None, ''],
                                              '-o': [None, '']},
                                  'flags': ['--help'],
                                  'arguments': [[None, '', 1]]},
              'code sheet': {'options': {'--case': ['cases', ''],
                                         '--coder': ['coders', ''],
                                         '--format': [None, ''],
                                         '--output': [None, ''],
                                         '--role': [None, ''],
                                         '-c': ['coders', ''],
                                         '-f': [None, ''],
                                         '-o': [None, '']},
                             'flags': ['--help'],
                             'arguments': []},
              'code auto': {'options': {'--coder': ['coders', ''],
                                        '--format': [None, ''],
                                        '--negation': [None, ''],
                                        '--role': [None, ''],
                                        '--threshold': [None, ''],
                                        '-c': ['coders', ''],
                                        '-f': [None, '']},
                            'flags': ['--fuzzy', '--help', '--no-fuzzy'],
                            'arguments': []},
              'code import': {'options': {'--coder': ['coders', ''],
                                          '--format': [None, ''],
                                          '-c': ['coders', ''],
                                          '-f': [None, '']},
                              'flags': ['--allow-empty', '--help'],
                              'arguments': [[None, '', 1]]},
              'code adjudication-sheet': {'options': {'--format': [None, ''],
                                                      '--output': [None, ''],
                                                      '-f': [None, ''],
                                                      '-o': [None, '']},
                                          'flags': ['--help'],
                                          'arguments': [['coders', '', 1], ['coders', '', 1]]},
              'code adjudicate': {'options': {'--as': [None, ''],
                                              '--coder': ['coders', ''],
                                              '--format': [None, ''],
                                              '-c': ['coders', ''],
                                              '-f': [None, '']},
                                  'flags': ['--help', '--replace'],
                                  'arguments': [[None, '', 1]]},
              'code delete-coder': {'options': {'--format': [None, ''], '-f': [None, '']},
                                    'flags': ['--help', '--yes', '-y'],
                                    'arguments': [[None, '', 1]]},
              'matrix case': {'options': {'--coder': ['coders', ''],
                                          '--format': [None, ''],
                                          '--lang': [None, ''],
                                          '--set': [None, ''],
                                          '-c': ['coders', ''],
                                          '-f': [None, '']},
                              'flags': ['--help'],
                              'arguments': [['cases', '', 1]]},
              'matrix cases': {'options': {'--by': ['case_attributes', ''],
                                           '--coder': ['coders', ''],
                                           '--format': [None, ''],
                                           '--lang': [None, ''],
                                           '--set': [None, ''],
                                           '-c': ['coders', ''],
                                           '-f': [None, '']},
                               'flags': ['--help'],
                               'arguments': []},
              'matrix cross': {'options': {'--alpha': [None, ''],
                                           '--by': ['case_attributes', ''],
                                           '--coder': ['coders', ''],
                                           '--count': [None, ''],
                                           '--format': [None, ''],
                                           '--lang': [None, ''],
                                           '--resamples': [None, ''],
                                           '--seed': [None, ''],
                                           '--set': [None, ''],
                                           '-c': ['coders', ''],
                                           '-f': [None, '']},
                               'flags': ['--help', '--test'],
                               'arguments': []},
              'matrix split': {'options': {'--by': ['case_attributes', ''],
                                           '--code-attr': ['code_attributes', ''],
                                           '--coder': ['coders', ''],
                                           '--count': [None, ''],
                                           '--format': [None, ''],
                                           '--lang': [None, ''],
                                           '--set': [None, ''],
                                           '--where': ['code_attributes', '='],
                                           '-c': ['coders', ''],
                                           '-f': [None, '']},
                               'flags': ['--help'],
                               'arguments': []},
              'matrix cooccur': {'options': {'--by': [None, ''],
                                             '--code': ['codes', ''],
                                             '--coder': ['coders', ''],
                                             '--format': [None, ''],
                                             '--lang': [None, ''],
                                             '--level': [None, ''],
                                             '--measure': [None, ''],
                                             '--near': [None, ''],
                                             '--set': [None, ''],
                                             '-c': ['coders', ''],
                                             '-f': [None, '']},
                                 'flags': ['--all-pairs', '--cluster', '--help'],
                                 'arguments': []},
              'export workbook': {'options': {'--agree': ['coders', ''],
                                              '--by': ['case_attributes', ''],
                                              '--code-attr': ['code_attributes', ''],
                                              '--coder': ['coders', ''],
                                              '--format': [None, ''],
                                              '--lang': [None, ''],
                                              '--output': [None, ''],
                                              '--set': [None, ''],
                                              '-c': ['coders', ''],
                                              '-f': [None, ''],
                                              '-o': [None, '']},
                                  'flags': ['--help'],
                                  'arguments': [[None, '', 1]]},
              'export document': {'options': {'--coder': ['coders', ''],
                                              '--format': [None, ''],
                                              '--lang': [None, ''],
                                              '--output': [None, ''],
                                              '-c': ['coders', ''],
                                              '-f': [None, ''],
                                              '-o': [None, '']},
                                  'flags': ['--help'],
                                  'arguments': [[None, '', 1]]},
              'export qdpx': {'options': {'--format': [None, ''],
                                          '--output': [None, ''],
                                          '--set': [None, ''],
                                          '-f': [None, ''],
                                          '-o': [None, '']},
                              'flags': ['--help'],
                              'arguments': [[None, '', 1]]},
              'export taguette-codebook': {'options': {'--format': [None, ''],
                                                       '--output': [None, ''],
                                                       '-f': [None, ''],
                                                       '-o': [None, '']},
                                           'flags': ['--help'],
                                           'arguments': [[None, '', 1]]},
              'document delete': {'options': {'--format': [None, ''], '-f': [None, '']},
                                  'flags': ['--help', '--yes', '-y'],
                                  'arguments': [[None, '', 1]]},
              'document resplit': {'options': {'--format': [None, ''],
                                               '--lang': [None, ''],
                                               '--unit': [None, ''],
                                               '-f': [None, '']},
                                   'flags': ['--help'],
                                   'arguments': [[None, '', 1]]},
              'backup list': {'options': {'--format': [None, ''], '-f': [None, '']},
                              'flags': ['--help'],
                              'arguments': []},
              'backup restore': {'options': {'--format': [None, ''], '-f': [None, '']},
                                 'flags': ['--help', '--yes', '-y'],
                                 'arguments': [[None, '', 1]]},
              'backup config': {'options': {'--format': [None, ''],
                                            '--keep': [None, ''],
                                            '--max-mb': [None, ''],
                                            '-f': [None, '']},
                                'flags': ['--help', '--yes', '-y'],
                                'arguments': []},
              'users add': {'options': {'--role': [None, '']},
                            'flags': ['--help', '--password-stdin'],
                            'arguments': [[None, '', 1]]},
              'users password': {'options': {},
                                 'flags': ['--help', '--password-stdin'],
                                 'arguments': [[None, '', 1]]},
              'users role': {'options': {}, 'flags': ['--help'], 'arguments': [[None, '', 1], [None, '', 1]]},
              'users disable': {'options': {}, 'flags': ['--enable', '--help'], 'arguments': [[None, '', 1]]},
              'users remove': {'options': {}, 'flags': ['--help'], 'arguments': [[None, '', 1]]},
              'users unlock': {'options': {}, 'flags': ['--help'], 'arguments': [[None, '', 1]]},
              'users list': {'options': {'--format': [None, ''], '-f': [None, '']},
                             'flags': ['--help'],
                             'arguments': []},
              'set add': {'options': {'--format': [None, ''], '-f': [None, '']},
                          'flags': ['--help'],
                          'arguments': [[None, '', 1], [None, '', -1]]},
              'set list': {'options': {'--format': [None, ''], '-f': [None, '']},
                           'flags': ['--help'],
                           'arguments': []},
              'suggest train': {'options': {'--bootstrap': [None, ''],
                                            '--code': ['codes', ''],
                                            '--format': [None, ''],
                                            '--from': ['coders', ''],
                                            '--param': [None, ''],
                                            '--seed': [None, ''],
                                            '-f': [None, '']},
                                'flags': ['--evaluate', '--help', '--no-evaluate'],
                                'arguments': []},
              'suggest curve': {'options': {'--bootstrap': [None, ''],
                                            '--code': ['codes', ''],
                                            '--format': [None, ''],
                                            '--from': ['coders', ''],
                                            '--param': [None, ''],
                                            '--seed': [None, ''],
                                            '-f': [None, '']},
                                'flags': ['--help'],
                                'arguments': []},
              'suggest run': {'options': {'--code': ['codes', ''],
                                          '--document': [None, ''],
                                          '--format': [None, ''],
                                          '--model': [None, ''],
                                          '-f': [None, '']},
                              'flags': ['--help', '--uncoded'],
                              'arguments': []},
              'suggest explain': {'options': {'--format': [None, ''], '-f': [None, '']},
                                  'flags': ['--help'],
                                  'arguments': [[None, '', 1]]},
              'suggest sample': {'options': {'--code': ['codes', ''],
                                             '--coder': [None, ''],
                                             '--format': [None, ''],
                                             '--model': [None, ''],
                                             '--seed': [None, ''],
                                             '--sheet': [None, ''],
                                             '--size': [None, ''],
                                             '-f': [None, '']},
                                 'flags': ['--help'],
                                 'arguments': []},
              'suggest validate': {'options': {'--bootstrap': [None, ''],
                                               '--coder': [None, ''],
                                               '--format': [None, ''],
                                               '--min-kappa': [None, ''],
                                               '--model': [None, ''],
                                               '--sample': [None, ''],
                                               '-f': [None, '']},
                                   'flags': ['--help'],
                                   'arguments': []},
              'suggest accept': {'options': {'--above': [None, ''],
                                             '--code': ['codes', ''],
                                             '--format': [None, ''],
                                             '--min-kappa': [None, ''],
                                             '--model': [None, ''],
                                             '--reviewer': [None, ''],
                                             '--sample': [None, ''],
                                             '-f': [None, '']},
                                 'flags': ['--help'],
                                 'arguments': []},
              'suggest bias': {'options': {'--by': ['case_attributes', ''],
                                           '--format': [None, ''],
                                           '--model': [None, ''],
                                           '--sample': [None, ''],
                                           '-f': [None, '']},
                               'flags': ['--help'],
                               'arguments': []},
              'suggest provenance': {'options': {'--format': [None, ''], '-f': [None, '']},
                                     'flags': ['--help'],
                                     'arguments': [['coders', '', -1]]}},
 'static': {'figure_kinds': ['meta', 'split', 'cooccur', 'dendrogram', 'frequency']}}
