"""Codebook format: validation reports every problem with file:line; round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from qda.codebook import dump_codebook, load_codebook, parse_codebook
from qda.errors import CodebookError

from conftest import CODEBOOK, ROOT, run, snapshot

GOOD = """\
name: Test
languages: [fr, en]
attributes:
  - name: mode
    values: [direct, indirect]
categories:
  - id: events
    label: {fr: Événements, en: Events}
    codes:
      - id: h
        label: {fr: Foires, en: Fairs}
        attributes: {mode: direct}
        patterns:
          - foire commerciale
          - {lemma: salon professionnel}
      - id: no
        label: {fr: Non, en: No}
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(CodebookError) as info:
        parse_codebook(text, "cb.yaml")
    return [str(p) for p in info.value.problems]


def test_good_codebook_parses_with_string_ids() -> None:
    cb = parse_codebook(GOOD, "cb.yaml")
    assert [c.id for c in cb.codes] == ["h", "no"]  # 'no' stays a string, not YAML 1.1 False
    assert cb.code("h").attributes == {"mode": "direct"}
    assert cb.code("h").patterns[1].kind == "lemma"
    assert cb.code("h").category == "events"


def test_shipped_codebooks_are_valid() -> None:
    cb = load_codebook(CODEBOOK)
    assert cb.code_ids() == list("abcdefghijklmnopqrstuvwxy")
    assert {c.attributes["mode"] for c in cb.codes} == {"direct", "indirect"}
    for path in (ROOT / "codebooks").glob("*.yaml"):
        assert load_codebook(path).codes


def test_every_problem_is_reported_at_once_with_its_line() -> None:
    text = """\
name: Broken
languages: [fr, en]
attributes:
  - name: mode
    values: [direct, indirect]
categories:
  - id: events
    label: {fr: Événements, en: Events}
    codes:
      - id: h
        label: {fr: Foires, en: Fairs}
        attributes: {mode: dirct}
      - id: h
        label: {fr: Encore, en: Again}
      - id: i
        label: {fr: "", en: ""}
      - id: j
        label: {fr: Sans anglais}
        attributes: {colour: red}
"""
    found = problems_of(text)
    assert ("cb.yaml:12: code 'h': 'dirct' is not an allowed value of 'mode' "
            "(allowed: direct, indirect; did you mean 'direct'?)") in found
    assert any(p.startswith("cb.yaml:13: code 'h' defined twice") for p in found)
    assert any(p.startswith("cb.yaml:16: code 'i' has an empty label") for p in found)
    assert any(p.startswith("cb.yaml:18: code 'j' has no 'en' label") for p in found)
    assert any(p.startswith("cb.yaml:19: code 'j': unknown attribute 'colour'") for p in found)
    assert len(found) == 5


def test_bad_nesting_and_unknown_keys_are_located() -> None:
    text = """\
name: Nested wrongly
languages: [en]
codes:
  - id: a
    label: A
    categories:
      - id: x
  - id: b
    label: B
    lable: typo
"""
    found = problems_of(text)
    assert any(p.startswith("cb.yaml:6: unknown key 'categories'") and "categories cannot sit inside a code" in p
               for p in found)
    assert any(p.startswith("cb.yaml:10: unknown key 'lable'") for p in found)


def test_duplicate_yaml_keys_and_syntax_errors() -> None:
    found = problems_of("name: A\nname: B\nlanguages: [en]\ncodes:\n  - id: a\n    label: A\n")
    assert found == ["cb.yaml:2: key 'name' given twice in the same entry"]
    with pytest.raises(CodebookError) as info:
        parse_codebook("name: A\ncodes:\n  - id: a\n   label: x\n", "cb.yaml")
    assert info.value.message.startswith("cb.yaml:4: not valid YAML")


def test_round_trip_through_yaml() -> None:
    cb = load_codebook(CODEBOOK)
    assert parse_codebook(dump_codebook(cb), "again.yaml") == cb


def test_cli_validate_exit_codes(runner, tmp_path: Path) -> None:
    ok = run(runner, "codebook", "validate", CODEBOOK)
    assert "25 codes" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: X\nlanguages: [en]\ncodes:\n  - id: a\n    label: A\n  - id: a\n    label: B\n",
                   encoding="utf-8")
    result = run(runner, "codebook", "validate", bad, code=1)
    assert f"{bad}:6: code 'a' defined twice" in result.output
    assert "Traceback" not in result.output


def test_loading_a_bad_codebook_leaves_the_project_unchanged(runner, small_project: Path, tmp_path: Path) -> None:
    before = snapshot(small_project)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: X\nlanguages: [en]\ncodes: {}\n", encoding="utf-8")
    run(runner, "-p", small_project, "codebook", "load", bad, code=1)
    assert snapshot(small_project) == before


def test_show_json_equals_the_api(runner, small_project: Path) -> None:
    from qda.codebook import codebook_to_dict

    from conftest import run_json

    assert run_json(runner, "-p", small_project, "codebook", "show") == codebook_to_dict(load_codebook(CODEBOOK))
