"""Codebook files: the YAML format, its validation and conversion to :class:`Codebook`.

Validation reports every problem at once, each with ``file:line``. YAML is read node by
node so that (a) every problem can name its line, (b) duplicate keys are caught (PyYAML
silently keeps the last one), and (c) scalars stay strings: with YAML 1.1 rules a code
id such as ``no`` or ``on`` would otherwise turn into a boolean.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from rapidfuzz import process

from qda.errors import CodebookError, NotFoundError, Problem
from qda.models import AttributeDef, Category, Code, Codebook, Pattern, WritePlan, color_problem
from qda.results import Column, Row, TableView, json_dict

if TYPE_CHECKING:
    import pandas as pd

PATTERN_KINDS = ("phrase", "lemma", "regex", "fuzzy")
# Separators a coder may use between several codes in one sheet cell.
CODE_SEPARATORS = ",;|\n"
_ID_RE = re.compile(r"^[^\s,;|]+$")

Labels = str | dict[str, str]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttributeSpec(_Spec):
    name: str
    values: list[str]
    description: str = ""


class PatternSpec(_Spec):
    phrase: str | None = None
    lemma: str | None = None
    regex: str | None = None
    fuzzy: str | None = None
    lang: str | None = None
    threshold: float | None = None


class CodeSpec(_Spec):
    id: str
    label: Labels | None = None
    definition: str = ""
    include: str = ""
    exclude: str = ""
    attributes: dict[str, str] = Field(default_factory=dict)
    # a list (each pattern with an optional lang:), or one list per language: {fr: [...], en: [...]}
    patterns: list[str | PatternSpec] | dict[str, list[str | PatternSpec]] = Field(default_factory=list)
    color: str | None = None
    guid: str | None = None
    codable: bool = True
    codes: list[CodeSpec] = Field(default_factory=list)

    @field_validator("color")
    @classmethod
    def _known_color(cls, value: str | None) -> str | None:
        problem = color_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value


class CategorySpec(_Spec):
    id: str
    label: Labels | None = None
    description: str = ""
    categories: list[CategorySpec] = Field(default_factory=list)
    codes: list[CodeSpec] = Field(default_factory=list)


class CodebookSpec(_Spec):
    """The top level of a codebook YAML file."""

    name: str
    version: str | None = None
    description: str = ""
    languages: list[str]
    attributes: list[AttributeSpec] = Field(default_factory=list)
    categories: list[CategorySpec] = Field(default_factory=list)
    codes: list[CodeSpec] = Field(default_factory=list)


# --------------------------------------------------------------------------- YAML

Path_ = tuple[str | int, ...]


MAX_YAML_DEPTH = 100  # a codebook nests a few levels; far deeper is a damaged or hostile file


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _NoAliasLoader(yaml.SafeLoader):
    """A YAML loader that refuses anchors (``&x``) and aliases (``*x``).

    A codebook never needs them, and they are how a 500-byte file becomes a
    recursive or exponentially large tree ("billion laughs"). Each one is recorded
    with its line and the alias is replaced by a null, so parsing stays linear in
    the size of the file and every offending line is reported at once.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_lines: list[tuple[int, str]] = []
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        start: Any = event.start_mark
        end: Any = event.end_mark
        line = start.line + 1 if start is not None else 0
        if self.depth >= MAX_YAML_DEPTH:
            # PyYAML composes recursively: 20,000 nested brackets end in a RecursionError
            raise _TooDeep(line)
        self.depth += 1
        try:
            return self._compose_one(event, start, end, line, parent, index)
        finally:
            self.depth -= 1

    def _compose_one(self, event: Any, start: Any, end: Any, line: int, parent: Any, index: Any) -> Any:
        if isinstance(event, yaml.AliasEvent):
            self.get_event()  # type: ignore[no-untyped-call]
            self.alias_lines.append((line, f"alias '*{event.anchor}'"))
            return yaml.ScalarNode("tag:yaml.org,2002:null", "", start, end)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self.alias_lines.append((line, f"anchor '&{anchor}'"))
            event.anchor = None  # not registered: a later alias cannot reach it
        return super().compose_node(parent, index)


def _compose(text: str, source: str) -> tuple[Any, dict[Path_, int], list[Problem]]:
    """Parse YAML into plain data (strings, lists, dicts) with a line for every path."""
    loader: _NoAliasLoader | None = None
    try:
        loader = _NoAliasLoader(text)  # its reader already refuses control characters
        root = loader.get_single_node()
    except _TooDeep as exc:
        raise CodebookError(
            f"{source}:{exc.line}: nested more than {MAX_YAML_DEPTH} levels deep",
            [Problem(f"{source}:{exc.line}", f"lists or entries nested more than {MAX_YAML_DEPTH} levels deep",
                     "a codebook nests codes a few levels deep: check the brackets and indentation here")],
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        position = getattr(exc, "position", None)  # ReaderError: an unacceptable character
        line = mark.line + 1 if mark is not None else text.count("\n", 0, position) + 1 if position is not None else 0
        problem = getattr(exc, "problem", None) or str(exc)
        if isinstance(exc, yaml.reader.ReaderError):
            char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
            problem = f"character U+{char:04X} (a control character) cannot appear in YAML; delete it"
        raise CodebookError(
            f"{source}:{line}: not valid YAML",
            [Problem(f"{source}:{line}", f"not valid YAML: {problem}",
                     "check indentation and quote values that contain ':' or '#'")],
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    if loader.alias_lines:
        raise CodebookError(
            f"{source}:{loader.alias_lines[0][0]}: YAML anchors and aliases are not allowed in a codebook",
            [Problem(f"{source}:{line}", f"YAML {what} is not allowed",
                     "write the value out in full; a codebook never needs & or *")
             for line, what in loader.alias_lines],
        )
    lines: dict[Path_, int] = {}
    problems: list[Problem] = []

    def build(node: yaml.Node, path: Path_) -> Any:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in result:
                    problems.append(Problem(f"{source}:{key_node.start_mark.line + 1}",
                                            f"key '{key}' given twice in the same entry"))
                result[key] = build(value_node, path + (key,))
                lines[path + (key,)] = key_node.start_mark.line + 1
            return result
        if isinstance(node, yaml.SequenceNode):
            return [build(item, path + (i,)) for i, item in enumerate(node.value)]
        if node.tag == "tag:yaml.org,2002:null":
            return None
        return str(node.value)

    data = build(root, ()) if root is not None else None
    return data, lines, problems


def _line_for(lines: dict[Path_, int], path: Path_) -> int:
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def _describe_pydantic(err: Mapping[str, Any]) -> tuple[Path_, str, str]:
    loc: Path_ = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p in ("str", "PatternSpec"))))
    field = str(loc[-1]) if loc else "codebook"
    kind = err["type"]
    if kind == "extra_forbidden":
        parent = [p for p in loc[:-1] if isinstance(p, str)]
        where = parent[-1] if parent else "the top level"
        hint = ""
        if field == "categories" and "codes" in parent:
            hint = "categories cannot sit inside a code: codes nest codes, categories nest categories and codes"
        elif where == "the top level":
            hint = "allowed: name, version, description, languages, attributes, categories, codes"
        return loc, f"unknown key '{field}' in {where}", hint
    if kind == "missing":
        return loc, f"'{field}' is required", ""
    if kind in ("list_type",):
        return loc, f"'{field}' must be a list (items starting with '- ')", "check the nesting"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return loc, f"'{field}' must be a mapping of 'key: value' lines", "check the nesting"
    return loc, f"'{field}': {err['msg']}", ""


# --------------------------------------------------------------------------- validation

def _labels(value: Labels | None, default_lang: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {default_lang: value}
    return dict(value)


def parse_codebook(text: str, source: str = "<codebook>") -> Codebook:
    """Validate codebook YAML text and return the :class:`Codebook`.

    Raises :class:`CodebookError` listing every problem found, each with file:line.
    """
    data, lines, problems = _compose(text, source)
    if not isinstance(data, dict):
        raise CodebookError(f"{source}: a codebook must be a YAML mapping with name, languages and codes",
                            [Problem(f"{source}:1", "the file is empty or not a mapping")])
    try:
        spec = CodebookSpec.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc, message, hint = _describe_pydantic(err)
            problems.append(Problem(f"{source}:{_line_for(lines, loc)}", message, hint))
        raise CodebookError(f"{source}: {len(problems)} problem(s) in the codebook", problems) from None

    def at(*path: str | int) -> str:
        return f"{source}:{_line_for(lines, tuple(path))}"

    languages = [lang.strip() for lang in spec.languages]
    if not languages:
        problems.append(Problem(at("languages"), "no language declared", "e.g. languages: [fr, en]"))
    default_lang = languages[0] if languages else "en"

    attr_defs: dict[str, AttributeDef] = {}
    for i, attr in enumerate(spec.attributes):
        if attr.name in attr_defs:
            problems.append(Problem(at("attributes", i, "name"), f"attribute '{attr.name}' defined twice"))
        if not attr.values:
            problems.append(Problem(at("attributes", i, "values"), f"attribute '{attr.name}' has no allowed values"))
        attr_defs[attr.name] = AttributeDef(attr.name, tuple(attr.values), attr.description)

    categories: list[Category] = []
    codes: list[Code] = []
    seen_ids: dict[str, str] = {}

    def check_id(ident: str, what: str, path: Path_) -> None:
        where = f"{source}:{_line_for(lines, path + ('id',))}"
        if not ident or not _ID_RE.match(ident):
            problems.append(Problem(where, f"{what} id '{ident}' is empty or contains spaces, ',', ';' or '|'",
                                    "ids are short tokens such as 'h' or 'trade_fairs'"))
        if ident in seen_ids:
            problems.append(Problem(where, f"{what} '{ident}' defined twice", f"first defined at {seen_ids[ident]}"))
        else:
            seen_ids[ident] = where

    def check_labels(labels: dict[str, str], what: str, path: Path_) -> None:
        where = f"{source}:{_line_for(lines, path + ('label',))}"
        if not any(v.strip() for v in labels.values()):
            problems.append(Problem(where, f"{what} has an empty label", "give a label in " + ", ".join(languages)))
            return
        for lang, text_ in labels.items():
            if lang not in languages:
                problems.append(Problem(where, f"{what}: label language '{lang}' is not in languages "
                                        f"({', '.join(languages)})"))
            elif not text_.strip():
                problems.append(Problem(where, f"{what} has an empty '{lang}' label"))
        for lang in languages:
            if lang not in labels:
                problems.append(Problem(where, f"{what} has no '{lang}' label",
                                        f"add '{lang}: ...' under label, or remove '{lang}' from languages"))

    def code_from(cs: CodeSpec, path: Path_, category: str | None, parent: str | None) -> None:
        what = f"code '{cs.id}'"
        check_id(cs.id, "code", path)
        labels = _labels(cs.label, default_lang)
        check_labels(labels, what, path)
        for name, value in cs.attributes.items():
            where = at(*path, "attributes", name)
            if name not in attr_defs:
                known = ", ".join(attr_defs) or "none defined"
                problems.append(Problem(where, f"{what}: unknown attribute '{name}'", f"defined attributes: {known}"))
            elif value not in attr_defs[name].values:
                allowed = attr_defs[name].values
                close = process.extractOne(value, list(allowed))
                hint = f"allowed: {', '.join(allowed)}" + (
                    f"; did you mean '{close[0]}'?" if close and close[1] >= 60 else "")
                problems.append(Problem(where, f"{what}: '{value}' is not an allowed value of '{name}'", hint))
        patterns: list[Pattern] = []
        if isinstance(cs.patterns, dict):  # one list per language: each pattern gets its list's language
            listed: list[tuple[Path_, str | None, str | PatternSpec]] = []
            for lang, items in cs.patterns.items():
                if lang not in languages:
                    problems.append(Problem(at(*path, "patterns", lang), f"{what}: pattern language '{lang}' is not "
                                            f"in languages ({', '.join(languages)})"))
                    continue
                listed += [((*path, "patterns", lang, k), lang, raw) for k, raw in enumerate(items)]
        else:
            listed = [((*path, "patterns", k), None, raw) for k, raw in enumerate(cs.patterns)]
        for place, lang_of_list, raw in listed:
            where = at(*place)
            if isinstance(raw, str):
                patterns.append(Pattern(raw, lang=lang_of_list))
                continue
            if lang_of_list is not None and raw.lang is not None and raw.lang != lang_of_list:
                problems.append(Problem(where, f"{what}: a pattern under '{lang_of_list}' says lang: {raw.lang}"))
            given = [(kind, getattr(raw, kind)) for kind in PATTERN_KINDS if getattr(raw, kind) is not None]
            if len(given) != 1:
                problems.append(Problem(where, f"{what}: a pattern needs exactly one of {', '.join(PATTERN_KINDS)}"))
                continue
            kind, value = given[0]
            if not value.strip():
                problems.append(Problem(where, f"{what}: empty {kind} pattern"))
            if kind == "regex":
                try:
                    re.compile(value)
                except re.error as exc:
                    problems.append(Problem(where, f"{what}: invalid regular expression: {exc}"))
            if raw.threshold is not None and not 0 < raw.threshold <= 100:
                problems.append(Problem(where, f"{what}: threshold must be between 0 and 100"))
            if raw.lang is not None and raw.lang not in languages:
                problems.append(Problem(where, f"{what}: pattern language '{raw.lang}' is not in languages"))
            patterns.append(Pattern(value, kind, raw.lang or lang_of_list, raw.threshold))
        codes.append(Code(id=cs.id, labels=labels, category=category, parent=parent,
                          definition=cs.definition.strip(), include=cs.include.strip(),
                          exclude=cs.exclude.strip(), attributes=dict(cs.attributes),
                          patterns=tuple(patterns), color=cs.color, guid=cs.guid, codable=cs.codable))
        for j, child in enumerate(cs.codes):
            code_from(child, path + ("codes", j), category, cs.id)

    def category_from(cat: CategorySpec, path: Path_, parent: str | None) -> None:
        check_id(cat.id, "category", path)
        labels = _labels(cat.label, default_lang)
        check_labels(labels, f"category '{cat.id}'", path)
        categories.append(Category(cat.id, labels, parent, cat.description.strip()))
        for j, child in enumerate(cat.categories):
            category_from(child, path + ("categories", j), cat.id)
        for j, code in enumerate(cat.codes):
            code_from(code, path + ("codes", j), cat.id, None)

    for i, cat in enumerate(spec.categories):
        category_from(cat, ("categories", i), None)
    for i, code in enumerate(spec.codes):
        code_from(code, ("codes", i), None, None)
    if not codes and not problems:
        problems.append(Problem(at("codes") if ("codes",) in lines else f"{source}:1", "the codebook defines no code"))

    if problems:
        raise CodebookError(f"{source}: {len(problems)} problem(s) in the codebook", problems)
    return Codebook(name=spec.name, languages=tuple(languages), attributes=tuple(attr_defs.values()),
                    categories=tuple(categories), codes=tuple(codes), description=spec.description.strip())


def load_codebook(path: str | Path) -> Codebook:
    """Read and validate a codebook YAML file."""
    path = Path(path)
    if path.is_dir():
        raise CodebookError(f"{path}: is a folder, not a codebook file", [
            Problem(str(path), "give the codebook's .yaml file, not its folder",
                    f"e.g. {path / 'codebook.yaml'}")])
    if path.exists() and not path.is_file():
        raise CodebookError(f"{path}: not a regular file (a device, pipe or socket)", [
            Problem(str(path), "a codebook is a .yaml file", "give the path of the codebook file")])
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CodebookError(f"{path}: no such file") from None
    except OSError as exc:
        raise CodebookError(f"{path}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise CodebookError(f"{path}: not UTF-8 text (byte {exc.start})", [
            Problem(str(path), "codebooks must be saved as UTF-8",
                    "re-save the file as UTF-8 in your editor")]) from None
    return parse_codebook(text, str(path))


def plan_codebook(codebook: Codebook, source: str, origin: str, *, in_use: dict[str, int]) -> WritePlan:
    """A plan saving ``codebook`` as the project's; ``in_use`` (code -> codings) may not lose a code."""
    gone = sorted(set(in_use) - set(codebook.code_ids()))
    if gone:
        raise NotFoundError(
            f"{origin}: the new codebook drops codes that have codings",
            [Problem(origin, f"code '{k}' is used by {in_use[k]} coding(s)", "keep it in the codebook")
             for k in gone])
    return WritePlan(codebook=codebook, codebook_source=source)


def codebook_to_dict(codebook: Codebook) -> dict[str, Any]:
    """The YAML structure of a codebook (inverse of :func:`parse_codebook`)."""

    def pattern(p: Pattern) -> Any:
        if p.kind == "phrase" and p.lang is None and p.threshold is None:
            return p.value
        out: dict[str, Any] = {p.kind: p.value}
        if p.lang:
            out["lang"] = p.lang
        if p.threshold is not None:
            out["threshold"] = p.threshold
        return out

    def code(c: Code) -> dict[str, Any]:
        out: dict[str, Any] = {"id": c.id, "label": dict(c.labels)}
        for key in ("definition", "include", "exclude"):
            if getattr(c, key):
                out[key] = getattr(c, key)
        if c.attributes:
            out["attributes"] = dict(c.attributes)
        if c.patterns:
            out["patterns"] = [pattern(p) for p in c.patterns]
        if c.color:
            out["color"] = c.color
        if c.guid:
            out["guid"] = c.guid
        if not c.codable:
            out["codable"] = False
        children = [code(k) for k in codebook.subcodes(c.id)]
        if children:
            out["codes"] = children
        return out

    def category(cat: Category) -> dict[str, Any]:
        out: dict[str, Any] = {"id": cat.id, "label": dict(cat.labels)}
        if cat.description:
            out["description"] = cat.description
        subs = [category(c) for c in codebook.children(cat.id)]
        if subs:
            out["categories"] = subs
        direct = [code(c) for c in codebook.codes_in(cat.id) if c.parent is None]
        if direct:
            out["codes"] = direct
        return out

    result: dict[str, Any] = {"name": codebook.name}
    if codebook.description:
        result["description"] = codebook.description
    result["languages"] = list(codebook.languages)
    if codebook.attributes:
        result["attributes"] = [{"name": a.name, "values": list(a.values),
                                 **({"description": a.description} if a.description else {})}
                                for a in codebook.attributes]
    result["categories"] = [category(c) for c in codebook.children(None)]
    loose = [code(c) for c in codebook.codes_in(None) if c.parent is None]
    if loose:
        result["codes"] = loose
    return result


def dump_codebook(codebook: Codebook) -> str:
    """Serialise a codebook to YAML text that :func:`parse_codebook` reads back."""
    return yaml.safe_dump(codebook_to_dict(codebook), allow_unicode=True, sort_keys=False, width=100)


def closest_codes(token: str, codebook: Codebook, limit: int = 3) -> list[str]:
    """Code ids (with label) closest to an unknown token, for error hints."""
    choices: dict[str, str] = {}
    for code in codebook.codes:
        choices[code.id] = code.id
        for label in code.labels.values():
            choices[label] = code.id
    found = process.extract(token, list(choices), limit=limit * 3)
    result: list[str] = []
    for text, score, _ in found:
        cid = choices[text]
        entry = f"{cid} ({codebook.code(cid).label()})"
        if entry not in result and score >= 40:
            result.append(entry)
    return result[:limit]


@dataclass(frozen=True)
class CodebookView:
    """A codebook as a result (``qda codebook show``): its YAML structure, a frame, a table."""

    codebook: Codebook
    lang: str | None = None  # label language of the table

    def to_dict(self) -> dict[str, Any]:
        return json_dict(codebook_to_dict(self.codebook))

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{"code": c.id, "category": c.category or "", "parent": c.parent or "",
                              **{f"label_{k}": v for k, v in c.labels.items()}, **c.attributes,
                              "definition": c.definition} for c in self.codebook.codes])

    def to_table(self) -> TableView:
        """Codes indented under their categories and parent codes, with their attributes."""
        cb, blank = self.codebook, [None] * len(self.codebook.attributes)
        rows: list[Row] = []
        for depth, category, codes in cb.walk():
            if category is not None:
                rows.append(Row(("", f"{'  ' * depth}{cb.category_label(category.id, self.lang)}", *blank),
                                "heading"))
            for code in codes:
                indent = "  " * (depth + 1 + cb.code_depth(code.id))
                rows.append(Row((code.id, f"{indent}{code.label(self.lang)}",
                                 *[code.attributes.get(a.name, "") for a in cb.attributes])))
        columns = (Column("code"), Column("label"), *(Column(a.name) for a in cb.attributes))
        return TableView(cb.name, columns, tuple(rows))
