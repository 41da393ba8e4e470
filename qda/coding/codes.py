"""Codes born while coding: adding, renaming and merging codes in the codebook's YAML file.

The YAML file a project loaded (``qda codebook load``) stays the source of truth, so each
change is written into that file as well as into the project. The file is edited as text,
never re-serialised: only the lines of the code concerned change, and every comment,
quoting style and line break a researcher wrote elsewhere stays as it was. The whole new
text is then validated with the codebook validator (:func:`qda.codebook.parse_codebook`)
before anything is written.

A file edited, moved or replaced since it was loaded is refused: the project records the
file's path and the SHA-256 of the text it loaded (meta keys :data:`FILE_KEY` and
:data:`SHA_KEY`), and a change would otherwise overwrite edits qda has not seen.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from qda.codebook import closest_codes, parse_codebook
from qda.errors import CodebookError, Problem
from qda.models import Code, Codebook, Coding, WritePlan
from qda.results import Note, TableView, frame_view, json_dict

if TYPE_CHECKING:
    import pandas as pd

FILE_KEY = "codebook_file"  # the YAML file the codebook was loaded from (relative to the project when inside it)
SHA_KEY = "codebook_sha256"  # SHA-256 of the text loaded (or last written by qda)
# Same rule as the codebook validator: ids are short tokens, no spaces or list separators.
ID_PATTERN = re.compile(r"^[^\s,;|]+$")
ADDED_MARK = "# qda: added"  # comment above a code added from the page or `qda codebook add`


def text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def codebook_file_meta(folder: Path, path: Path, text: str) -> dict[str, str]:
    """The meta entries recording that the project's codebook is ``path`` holding ``text``.

    A file inside the project folder is recorded relative to it, so moving the whole
    folder keeps the link.
    """
    resolved = path.resolve()
    try:
        recorded = str(resolved.relative_to(folder.resolve()))
    except ValueError:
        recorded = str(resolved)
    return {FILE_KEY: recorded, SHA_KEY: text_sha(text)}


@dataclass(frozen=True)
class CodebookFile:
    """The YAML file of a project's codebook, as found on disk now."""

    path: Path
    text: str


def open_codebook_file(folder: Path, recorded: str | None, sha: str | None, *, stored_source: str,
                       problems: list[Problem]) -> CodebookFile | None:
    """The project's codebook file, or None with the reasons appended to ``problems``."""
    reload = "load it again (qda codebook load FILE.yaml) so that qda knows the file and its content"
    if not recorded or not sha:
        problems.append(Problem("codebook", "the project does not know which YAML file its codebook came from "
                                "(loaded by an older qda, or imported from REFI-QDA)", reload))
        return None
    path = Path(recorded) if Path(recorded).is_absolute() else folder / recorded
    if not path.is_file():
        problems.append(Problem(str(path), "the codebook file loaded into the project is not there any more "
                                "(moved, renamed or deleted)",
                                "load it from where it is now: qda codebook load PATH/TO/codebook.yaml"))
        return None
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(str(path), f"the codebook file cannot be read ({exc})", reload))
        return None
    if text_sha(stored_source) != sha:
        problems.append(Problem(str(path), "the project's codebook was replaced since this file was loaded "
                                "(e.g. by qda codebook import)", reload))
        return None
    if text_sha(text) != sha:
        problems.append(Problem(str(path), "the file was edited since it was loaded into the project; qda does not "
                                "overwrite edits it has not seen",
                                f"load the edited file first (qda codebook load {path}), then try again"))
        return None
    return CodebookFile(path, text)


# --------------------------------------------------------------------------- YAML as text

def _root(text: str) -> yaml.Node:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is None:
        raise CodebookError("the codebook file is empty")
    return root


def _entries(node: yaml.Node) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(key.value): (key, value) for key, value in node.value}


@dataclass(frozen=True)
class _Found:
    node: yaml.MappingNode  # the code's or category's mapping
    sequence: yaml.SequenceNode  # the list holding it
    key: yaml.Node  # the key of that list ('codes' or 'categories')
    kind: str  # "code" or "category"


def _find(root: yaml.Node, ident: str) -> _Found | None:
    """The entry (code or category) whose id is ``ident``."""
    stack = [root]
    while stack:
        node = stack.pop()
        for name in ("categories", "codes"):
            pair = _entries(node).get(name)
            if pair is None or not isinstance(pair[1], yaml.SequenceNode):
                continue
            for item in pair[1].value:
                id_pair = _entries(item).get("id")
                if id_pair is not None and str(id_pair[1].value) == ident and isinstance(item, yaml.MappingNode):
                    return _Found(item, pair[1], pair[0], "category" if name == "categories" else "code")
                stack.append(item)
    return None


def _content_end(node: yaml.Node) -> int:
    """Index just after the last character of ``node``'s own text (a block collection's
    end mark lies at the next token, after any comments that follow it)."""
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        return _content_end(last[1] if isinstance(last, tuple) else last)
    return int(node.end_mark.index)


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_after(text: str, index: int) -> int:
    """Index of the start of the line after the one holding ``index - 1``."""
    found = text.find("\n", max(index - 1, 0))
    return len(text) if found < 0 else found + 1


def scalar(value: str) -> str:
    """``value`` as a one-line YAML scalar (quoted only when it must be, also inside a
    ``{fr: ..., en: ...}`` flow mapping, where a plain ',' or '}' would end the value)."""
    style = '"' if any(ch in value for ch in ",[]{}") else None
    dumped = yaml.safe_dump(value, allow_unicode=True, width=1 << 30, default_style=style)
    return dumped[:-5] if dumped.endswith("\n...\n") else dumped.rstrip("\n")


def _block(entry: Mapping[str, Any], column: int, comment: str) -> str:
    """A code as a block sequence item whose dash is at ``column``."""
    dumped = yaml.safe_dump([dict(entry)], allow_unicode=True, sort_keys=False, width=100)
    lines = ([comment] if comment else []) + dumped.rstrip("\n").split("\n")
    return "".join(" " * column + line + "\n" for line in lines)


def insert_code_text(text: str, entry: Mapping[str, Any], parent: str | None, *, comment: str = "") -> str:
    """``text`` with the code ``entry`` added at the end of ``parent``'s codes (a code's or a
    category's; the top-level list when None); nothing else in the text changes."""
    root = _root(text)
    if parent is None:
        owner: yaml.Node = root
    else:
        found = _find(root, parent)
        if found is None:
            raise CodebookError(f"no code or category '{parent}' in the codebook file")
        owner = found.node
    pair = _entries(owner).get("codes")
    if pair is not None and isinstance(pair[1], yaml.SequenceNode) and pair[1].value and not pair[1].flow_style:
        sequence = pair[1]
        column = sequence.value[0].start_mark.column - 2  # the '- ' before the item
        at = _line_after(text, _content_end(sequence))
        if at == len(text) and not text.endswith("\n"):
            text += "\n"
            at += 1
        return text[:at] + _block(entry, column, comment) + text[at:]
    if pair is not None:
        key, value = pair
        if isinstance(value, yaml.SequenceNode) and value.value:
            raise CodebookError(f"the codes under '{parent or 'the top level'}' are written as a [flow, list] "
                                "on one line: qda adds codes to '- ' lists only (rewrite that list one code a line)")
        # 'codes:' with nothing, or 'codes: []': the value becomes a block list under the key
        column = key.start_mark.column + 2
        start, end = key.end_mark.index, value.end_mark.index if value.end_mark.index > key.end_mark.index else \
            key.end_mark.index
        rest = text[end:]
        rest = rest if rest.startswith("\n") else "\n" + rest.lstrip(" ")
        return text[:start] + ":\n" + _block(entry, column, comment).rstrip("\n") + rest
    # no 'codes' key: add one after the owner's last line, at the column of its keys
    column = owner.start_mark.column if parent is not None else 0
    at = _line_after(text, _content_end(owner)) if parent is not None else len(text)
    if at == len(text) and not text.endswith("\n"):
        text += "\n"
        at += 1
    return text[:at] + " " * column + "codes:\n" + _block(entry, column + 2, comment) + text[at:]


def replace_scalar_text(text: str, ident: str, path: Sequence[str], *, value: str) -> str:
    """``text`` with the scalar at ``path`` (e.g. ``("id",)``, ``("label", "en")``) of entry
    ``ident`` replaced by ``value``. A one-language label written as a plain string is
    replaced when ``path`` is ``("label", <any language>)``."""
    root = _root(text)
    found = _find(root, ident)
    if found is None:
        raise CodebookError(f"no code or category '{ident}' in the codebook file")
    node: yaml.Node = found.node
    for part in path:
        if isinstance(node, yaml.ScalarNode) and part == path[-1]:
            break  # label: "text" for a one-language codebook
        pair = _entries(node).get(part)
        if pair is None:
            raise CodebookError(f"code '{ident}' has no '{'.'.join(path)}' in the codebook file")
        node = pair[1]
    if not isinstance(node, yaml.ScalarNode):
        raise CodebookError(f"'{'.'.join(path)}' of code '{ident}' is not a single value in the codebook file")
    return text[:node.start_mark.index] + scalar(value) + text[node.end_mark.index:]


def remove_code_text(text: str, ident: str) -> str:
    """``text`` without the code ``ident`` (and without its list key when it was the only code
    there); the 'added by' comment qda wrote above it goes too."""
    root = _root(text)
    found = _find(root, ident)
    if found is None or found.kind != "code":
        raise CodebookError(f"no code '{ident}' in the codebook file")
    if found.sequence.flow_style:
        raise CodebookError(f"code '{ident}' sits in a [flow, list] on one line: remove it by hand")
    end = _line_after(text, _content_end(found.node))
    if len(found.sequence.value) == 1:
        start = _line_start(text, found.key.start_mark.index)
    else:
        start = _line_start(text, found.node.start_mark.index)
        if text[start:found.node.start_mark.index].strip() != "-":
            # '-' alone on the line before the mapping
            start = _line_start(text, start - 1)
        previous = _line_start(text, start - 1) if start else 0
        if start and text[previous:start].strip().startswith(ADDED_MARK):
            start = previous
    return text[:start] + text[end:]


# --------------------------------------------------------------------------- plans

@dataclass(frozen=True)
class NewCode:
    """A code to add, as given by the page or ``qda codebook add``."""

    id: str
    labels: Mapping[str, str]  # language -> label; a missing language takes the first label given
    parent: str | None = None  # a code or a category id
    definition: str = ""
    author: str = ""


@dataclass(frozen=True)
class CodebookEdit:
    """What a change to the codebook did (``qda codebook add/rename/merge``)."""

    action: str  # add | rename | merge
    file: str
    codes: tuple[str, ...]  # the code added; old and new id; the sources then the target
    codings: Mapping[str, int] = field(default_factory=dict)  # coder -> codings moved (merge) or renamed
    duplicates: Mapping[str, int] = field(default_factory=dict)  # coder -> duplicate codings merged into one
    notes: tuple[str, ...] = ()

    def message(self) -> str:
        moved = sum(self.codings.values())
        if self.action == "add":
            return f"added code '{self.codes[0]}' to {self.file} and to the project"
        if self.action == "rename":
            return (f"renamed '{self.codes[0]}' to '{self.codes[1]}' in {self.file} and in the project "
                    f"({moved} coding(s) follow it)")
        dupes = sum(self.duplicates.values())
        return (f"merged {', '.join(repr(c) for c in self.codes[:-1])} into '{self.codes[-1]}': {moved} coding(s) "
                f"moved, {dupes} duplicate(s) merged; {self.file} updated (qda undo restores the project)")

    def to_dict(self) -> dict[str, Any]:
        return json_dict({"action": self.action, "file": self.file, "codes": list(self.codes),
                          "codings": dict(self.codings), "duplicates": dict(self.duplicates),
                          "notes": list(self.notes), "message": self.message()})

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        coders = sorted(set(self.codings) | set(self.duplicates))
        return pd.DataFrame([{"coder": c, "codings": self.codings.get(c, 0), "duplicates": self.duplicates.get(c, 0)}
                             for c in coders], columns=["coder", "codings", "duplicates"])

    def to_table(self) -> TableView:
        notes = tuple(Note(n, "warning") for n in self.notes)
        if not self.codings and not self.duplicates:  # nothing per coder to show
            return TableView(lead=(Note(self.message()),), notes=notes)
        view = frame_view(self.to_frame())
        return TableView(view.title, view.columns, view.rows, lead=(Note(self.message()),), notes=notes)


def _check_id(ident: str, field_name: str, codebook: Codebook, problems: list[Problem]) -> None:
    taken = {c.id for c in codebook.codes} | {c.id for c in codebook.categories}
    if not ident or not ID_PATTERN.match(ident):
        problems.append(Problem(field_name, f"id '{ident}' is empty or contains spaces, ',', ';' or '|'",
                                "ids are short tokens such as 'h' or 'trade_fairs'"))
    elif ident in taken:
        what = "code" if ident in {c.id for c in codebook.codes} else "category"
        problems.append(Problem(field_name, f"'{ident}' is already a {what} of the codebook", "choose another id"))


def _reparse(text: str, file: CodebookFile) -> Codebook:
    try:
        return parse_codebook(text, str(file.path))
    except CodebookError as exc:
        raise CodebookError(f"{file.path}: the change would make the codebook invalid; nothing was written",
                            exc.problems) from None


def plan_add_code(codebook: Codebook, file: CodebookFile | None, new: NewCode,
                  *, problems: list[Problem]) -> tuple[str, Codebook]:
    """The new YAML text and codebook with ``new`` added; every problem at once (with those in ``problems``)."""
    _check_id(new.id, "id", codebook, problems)
    labels = {k: v.strip() for k, v in new.labels.items() if isinstance(v, str) and v.strip()}
    first = next(iter(labels.values()), "")
    if not first:
        problems.append(Problem("label", "the code needs a label", "a few words that name it"))
    for lang, text in labels.items():
        if lang not in codebook.languages:
            problems.append(Problem(f"label.{lang}", f"'{lang}' is not a language of the codebook "
                                    f"({', '.join(codebook.languages)})"))
        if "\n" in text:
            problems.append(Problem(f"label.{lang}", "a label is one line"))
    parent = new.parent or None
    if parent is not None and not any(c.id == parent for c in codebook.codes) and \
            not any(c.id == parent for c in codebook.categories):
        close = closest_codes(parent, codebook)
        problems.append(Problem("parent", f"no code or category '{parent}'",
                                f"did you mean {', '.join(close)}?" if close else "leave it empty for the top level"))
    if problems or file is None:
        raise CodebookError(f"code '{new.id}' was not added: {len(problems)} problem(s)", problems)
    entry: dict[str, Any] = {"id": new.id, "label": {lang: labels.get(lang, first) for lang in codebook.languages}}
    if new.definition.strip():
        entry["definition"] = new.definition.strip()
    today = datetime.now(timezone.utc).date().isoformat()
    comment = f"{ADDED_MARK} by {new.author}, {today}" if new.author else f"{ADDED_MARK} {today}"
    text = insert_code_text(file.text, entry, parent, comment=comment)
    return text, _reparse(text, file)


def plan_rename(codebook: Codebook, file: CodebookFile | None, old: str, *, new_id: str | None,
                label: str | None, lang: str | None, problems: list[Problem]) -> tuple[str, Codebook]:
    """The new YAML text and codebook with code ``old`` given a new id and/or label."""
    if not any(c.id == old for c in codebook.codes):
        close = closest_codes(old, codebook)
        problems.append(Problem("code", f"no code '{old}' in the codebook",
                                f"did you mean {', '.join(close)}?" if close else "see qda codebook show"))
    if new_id is None and label is None:
        problems.append(Problem("new", "give a new id, a new label (--label), or both"))
    if new_id is not None and new_id != old:
        _check_id(new_id, "new id", codebook, problems)
    lang = lang or codebook.default_language or ""
    if label is not None:
        if not label.strip() or "\n" in label:
            problems.append(Problem("label", "a label is one line of text, not empty"))
        if lang not in codebook.languages:
            problems.append(Problem("lang", f"'{lang}' is not a language of the codebook "
                                    f"({', '.join(codebook.languages)})"))
    if problems or file is None:
        raise CodebookError(f"code '{old}' was not renamed: {len(problems)} problem(s)", problems)
    text = file.text
    if label is not None:
        text = replace_scalar_text(text, old, ("label", lang), value=label.strip())
    if new_id is not None and new_id != old:
        text = replace_scalar_text(text, old, ("id",), value=new_id)
    return text, _reparse(text, file)


@dataclass(frozen=True)
class MergePlan:
    text: str
    codebook: Codebook
    moved: dict[str, int]
    duplicates: dict[str, int]
    notes: tuple[str, ...]


def duplicate_key(coding: Coding) -> tuple[str, str, int, int, str | None]:
    """Codings of one coder on the same passage, which a merge makes one coding."""
    return (coding.coder, coding.document, coding.start, coding.end, coding.segment)


def plan_merge(codebook: Codebook, file: CodebookFile | None, sources: Sequence[str], *, target: str,
               codings: Sequence[Coding], problems: list[Problem]) -> MergePlan:
    """The YAML text and codebook without ``sources``, and what the merge does to ``codings``
    (every coding of the sources and of the target, every coder)."""
    known = {c.id: c for c in codebook.codes}
    for name, where in [(s, "source") for s in sources] + [(target, "target")]:
        if name not in known:
            close = closest_codes(name, codebook)
            problems.append(Problem(where, f"no code '{name}' in the codebook",
                                    f"did you mean {', '.join(close)}?" if close else "see qda codebook show"))
    if not sources:
        problems.append(Problem("source", "name at least one code to merge"))
    if target in sources:
        problems.append(Problem("target", f"'{target}' cannot be merged into itself"))
    if target in known and not known[target].codable:
        problems.append(Problem("target", f"'{target}' is a folder code (codable: false): it cannot hold codings",
                                "merge into one of its subcodes, or make it codable in the YAML first"))
    for source in sources:
        children = [c.id for c in codebook.subcodes(source)] if source in known else []
        if children:
            problems.append(Problem("source", f"code '{source}' has subcodes ({', '.join(children)})",
                                    "merge or move its subcodes first"))
    if len(set(sources)) != len(sources):
        problems.append(Problem("source", "a code is named twice"))
    if problems or file is None:
        raise CodebookError(f"nothing was merged: {len(problems)} problem(s)", problems)
    moved: dict[str, int] = {}
    duplicates: dict[str, int] = {}
    seen: set[tuple[str, str, int, int, str | None]] = set()
    for coding in sorted(codings, key=lambda c: c.id or 0):  # the store keeps the oldest of duplicates
        if coding.code in sources:
            moved[coding.coder] = moved.get(coding.coder, 0) + 1
        key = duplicate_key(coding)
        if key in seen:
            duplicates[coding.coder] = duplicates.get(coding.coder, 0) + 1
        seen.add(key)
    text = file.text
    for source in sources:
        text = remove_code_text(text, source)
    notes = tuple(f"'{s}' had {what} that '{target}' does not take over: copy them into the YAML if they apply"
                  for s in sources for what in _dropped(known[s]))
    return MergePlan(text, _reparse(text, file), moved, duplicates, notes)


def _dropped(code: Code) -> list[str]:
    return [what for what, value in (("dictionary patterns", code.patterns), ("a definition", code.definition),
                                     ("include/exclude rules", code.include or code.exclude)) if value]


def code_write_plan(codebook: Codebook, text: str, meta: Mapping[str, str],
                    *, code_keys: Mapping[str, str] | None = None) -> WritePlan:
    """The plan storing the edited codebook (with the text it came from)."""
    return WritePlan(codebook=codebook, codebook_source=text, code_keys=dict(code_keys or {}),
                     meta={**meta, SHA_KEY: text_sha(text)})


def restore_codebook_file(folder: Path, written: tuple[str | None, str | None], recorded: str | None,
                          *, sha: str | None, source: str) -> str:
    """After ``qda undo``: put the codebook file back as the restored project loaded it.

    ``written`` is the file and SHA-256 the project recorded before the undo (what qda last
    wrote); the file is rewritten only if it still holds exactly that, so an edit made by
    hand since is never overwritten. Returns a sentence for the user ('' when nothing to do).
    """
    from qda.files import write_atomically

    if not recorded or not sha or sha == written[1] or recorded != written[0] or text_sha(source) != sha:
        return ""
    path = Path(recorded) if Path(recorded).is_absolute() else folder / recorded
    try:
        current = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return f"{path}: not found or unreadable, so not restored; the project's codebook is the one before the undo"
    if text_sha(current) != written[1]:
        return (f"{path} was edited since qda last wrote it and was left as it is: load it again "
                "(qda codebook load) once it matches the codebook you want")
    write_atomically(path, lambda tmp: tmp.write_text(source, encoding="utf-8"))
    return f"{path} was restored too, as it was before that write"
