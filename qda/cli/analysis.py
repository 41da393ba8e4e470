"""``qda retrieve``, ``qda matrix cooccur``, ``qda words``, ``qda search``, ``qda figure``,
``qda report`` and the tests of ``qda matrix cross --test``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from qda.cli import (
    CSV_SAFE,
    CoderOpt,
    FormatOpt,
    SetOpt,
    app,
    complete,
    csv_text,
    matrix_app,
    opened,
    out,
    print_view,
    render,
)
from qda.cli.plain import LARGE_TABLE, plain_table
from qda.models import CodeMatch, CooccurrenceLevel, CountMode, FigureKind, FigureSize, SearchMode, Similarity, WordUnit
from qda.models import OutputFormat as Format
from qda.results import TableView, frame_view


def _pairs(items: list[str], option: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise typer.BadParameter(f"'{item}' is not ATTR=VALUE", param_hint=option)
        key, value = item.split("=", 1)
        found[key.strip()] = value.strip()
    return found


@app.command("retrieve")
def retrieve(ctx: typer.Context,
             code: list[str] = typer.Option([], "--code", help="A code to retrieve (repeatable; none: every code).",
                                            autocompletion=complete("codes")),
             match: CodeMatch = typer.Option(CodeMatch.ANY, "--match",
                                             help="any (OR) or all (AND: the codes on the same text)."),
             exclude: list[str] = typer.Option([], "--not",
                                               help="Leave out passages also coded with this code (repeatable).",
                                               autocompletion=complete("codes")),
             coder: list[str] = typer.Option([], "--coder", "-c", help="Only this coder (repeatable; default: all).",
                                             autocompletion=complete("coders")),
             case: list[str] = typer.Option([], "--case", help="Only this case (repeatable).",
                                            autocompletion=complete("cases")),
             document: list[str] = typer.Option([], "--document", help="Only this document (repeatable)."),
             where: list[str] = typer.Option([], "--where",
                                             help="Case attribute ATTR=VALUE, e.g. group=post-entry (repeatable).",
                                             autocompletion=complete("case_attributes", "=")),
             context: int = typer.Option(0, "--context", help="Sentences (segments) shown before and after."),
             by: str | None = typer.Option(None, "--by",
                                           help="With --per-code: the table of quotes per group of this attribute.",
                                           autocompletion=complete("case_attributes")),
             per_code: int = typer.Option(2, "--per-code", help="With --by: quotes per code and group."),
             output: Path | None = typer.Option(None, "--output", "-o",
                                                help="Also write the table (.xlsx, .html or .csv)."),
             document_set: str | None = SetOpt,
             fmt: Format = FormatOpt) -> None:
    """Coded segments by code(s), coder, case, document and case attribute; or a table of quotes."""
    query: dict[str, Any] = dict(codes=code, match=match, exclude=exclude, coders=coder or None, cases=case or None,
                 documents=document or None, where=_pairs(where, "--where"), context=context)
    with opened(ctx, document_set) as project:
        result: Any = project.quotes(by, per_code, **query) if by else project.retrieve(**query)
    if output is not None:
        from qda.export.tables import write_table

        write_table(output, result.to_frame(), "Illustrative quotes" if by else "Retrieved segments",
                    csv_safe=CSV_SAFE[0])
    render(result, fmt)
    if output is not None and fmt is Format.TABLE:
        out.print(f"wrote {escape(str(output))}")


@matrix_app.command("cooccur")
def matrix_cooccur(ctx: typer.Context, coder: str = CoderOpt,
                   level: CooccurrenceLevel = typer.Option(
                       CooccurrenceLevel.CASE, "--level",
                       help="Together in the same case, document or segment, in overlapping text, or near (--near)."),
                   near: int = typer.Option(1, "--near", help="near: at most this many segments apart."),
                   by: str | None = typer.Option(None, "--by", help="Also one table per value of this case attribute."),
                   code: list[str] = typer.Option([], "--code", help="Only these codes (repeatable).",
                                                  autocompletion=complete("codes")),
                   measure: str = typer.Option("jaccard", "--measure",
                                               help="Table view: jaccard, dice, ochiai or n_ab."),
                   cluster: bool = typer.Option(False, "--cluster",
                                                help="Average-linkage clustering on Jaccard distance."),
                   all_pairs: bool = typer.Option(False, "--all-pairs", help="Table/CSV: also pairs never together."),
                   lang: str | None = typer.Option(
                       None, "--lang", help="Table: add a legend of the codes' labels in this language."),
                   document_set: str | None = SetOpt,
                   fmt: Format = FormatOpt) -> None:
    """Code x code co-occurrence with Jaccard (c-coefficient), Sørensen–Dice and Ochiai."""
    if measure not in ("jaccard", "dice", "ochiai", "n_ab"):
        raise typer.BadParameter(f"'{measure}' is not jaccard, dice, ochiai or n_ab", param_hint="--measure")
    with opened(ctx, document_set) as project:
        result = project.cooccurrence(coder, level=level, near=near, by=by, codes=code or None, cluster=cluster,
                                      all_pairs=all_pairs)
        codebook = project.codebook() if lang else None
    if fmt is not Format.TABLE:  # the result's own to_dict() / to_frame(), as every command
        render(result, fmt)
        return
    import shutil
    import textwrap

    from qda.cli import grid

    width = max(40, shutil.get_terminal_size((out.width, 24)).columns)  # COLUMNS, else the terminal
    for table in result.tables:  # blocks of columns that fit the terminal, three characters a cell
        for line in grid.grid_lines(table, measure, level, width):
            typer.echo(line)
    if codebook is not None:  # the grid shows code ids only
        from qda.matrix import legend

        used = [c for c, n in result.tables[0].frequencies.items() if n]
        print_view(TableView(notes=legend({c: codebook.code(c).label(lang) for c in used})))
    typer.echo(textwrap.fill(grid.legend(measure), width))
    note = grid.notes_line(result, width)
    if note:  # counted on one line: listing them took 56-100 lines
        typer.echo(note)
    if result.clustering:
        out.print("clusters (dendrogram order): " + " ".join(result.clustering.leaves))


def show_tests(ctx: typer.Context, by: str, coder: str, alpha: float, resamples: int, seed: int,
               fmt: Format, document_set: str | None = None) -> None:
    """``qda matrix cross --test``: each code's presence x the attribute, exact tests."""
    with opened(ctx, document_set) as project:
        result = project.attribute_tests(by, coder, alpha=alpha, resamples=resamples, seed=seed)
    render(result, fmt)


@app.command("words")
def words(ctx: typer.Context,
          by: str = typer.Option("document", "--by", help="document, case or a case attribute (e.g. group)."),
          unit: WordUnit = typer.Option(WordUnit.WORD, "--unit", help="word (as written, lower-cased) or lemma."),
          role: list[str] = typer.Option([], "--role",
                                         help="Only turns of speakers with this role (default: respondent)."),
          all_roles: bool = typer.Option(False, "--all-roles", help="Count every speaker's words (interviewer too)."),
          top: int = typer.Option(20, "--top", help="Words listed per unit."),
          prior: float = typer.Option(0.1, "--prior",
                                      help="Prior = pooled counts x this (0.1: a tenth of the data's weight)."),
          keep_stop_words: bool = typer.Option(False, "--keep-stop-words", help="Count stop words too."),
          distinctive: bool = typer.Option(False, "--distinctive", help="Table/CSV: the distinctive words instead."),
          document_set: str | None = SetOpt,
          fmt: Format = FormatOpt) -> None:
    """Word or lemma counts per document, case or group, and words distinctive of each."""
    roles = None if all_roles else (role or ["respondent"])
    with opened(ctx, document_set) as project:
        result = project.words(by=by, unit=unit, roles=roles, top=top, prior=prior, keep_stop_words=keep_stop_words)
    if fmt is Format.JSON:
        render(result, fmt)
    elif fmt is Format.CSV:
        frame = result.distinctive_frame() if distinctive else result.to_frame()
        typer.echo(csv_text(frame), nl=False)
    else:
        if distinctive:
            print_view(frame_view(result.distinctive_frame(),
                                  f"Distinctive {unit}s per {by} (weighted log-odds, z >= 1.96)"))
        else:
            print_view(result.to_table())
        scope = "all speakers" if not result.roles else "roles: " + ", ".join(result.roles)
        out.print(f"[dim]· {escape(scope)}; stop words {'kept' if keep_stop_words else 'left out'}[/dim]")


@app.command("search")
def search(ctx: typer.Context, query: str = typer.Argument(..., help="Words, a lemma or a regular expression."),
           mode: SearchMode = typer.Option(SearchMode.EXACT, "--mode", help="exact (whole words), lemma or regex."),
           by: str = typer.Option("case", "--by", help="Count hits per case or case attribute (e.g. group)."),
           width: int = typer.Option(40, "--width", help="Characters of context on each side."),
           role: list[str] = typer.Option([], "--role", help="Only turns of speakers with this role (repeatable)."),
           code: str | None = typer.Option(None, "--code", help="Code each segment with a hit (needs --coder).",
                                           autocompletion=complete("codes")),
           coder: str | None = typer.Option(None, "--coder", "-c", help="With --code: whose codings they become.",
                                            autocompletion=complete("coders")),
           document_set: str | None = SetOpt,
           fmt: Format = FormatOpt) -> None:
    """Keyword in context: every occurrence with the text around it, counted per document and group.

    With --code X --coder Y, once the hits are reviewed: each segment holding a hit is
    coded X for Y (all or nothing; the pattern recorded; negated mentions left out)."""
    if (code is None) != (coder is None):
        raise typer.BadParameter("give both --code and --coder to turn hits into codings", param_hint="--code")
    if code is not None and document_set is not None:
        raise typer.BadParameter("--set narrows what is read; coding the hits writes: search the set, then code "
                                 "without --set", param_hint="--set")
    with opened(ctx, document_set) as project:
        if code is not None and coder is not None:
            coding = project.code_search_hits(query, code, coder, mode=mode, by=by, roles=role or None)
            if fmt is not Format.TABLE:
                render(coding, fmt)
            else:
                out.print(f"coder '{escape(coder)}': {len(coding.coded)} segment(s) coded {escape(code)} "
                          f"({len(coding.negated)} with only negated mentions left out, "
                          f"{len(coding.already)} already coded)")
            return
        result = project.search(query, mode=mode, by=by, width=width, roles=role or None)
    if fmt is not Format.TABLE:
        render(result, fmt)
        return
    if len(result.hits) >= LARGE_TABLE:  # the same cells as plain text: rich's layout is most of the time
        typer.echo(plain_table(f"{len(result.hits)} hit(s) of '{query}' ({mode})",
                               [("segment", False), ("left", True), ("match", False), ("right", False)],
                               ([h.segment or h.document, h.left, h.match, h.right] for h in result.hits)))
    else:
        table = Table(title=f"{len(result.hits)} hit(s) of '{escape(query)}' ({mode})")
        for name in ("segment", "left", "match", "right"):
            table.add_column(name, justify="right" if name == "left" else "left", no_wrap=name != "segment")
        for h in result.hits:
            table.add_row(escape(h.segment or h.document), escape(h.left), f"[bold]{escape(h.match)}[/bold]",
                          escape(h.right))
        out.print(table)
    out.print("per document: " + (", ".join(f"{escape(d)} {n}" for d, n in result.per_document.items()) or "none"))
    out.print(f"per {escape(by)}: " + (", ".join(f"{escape(g)} {n}" for g, n in result.per_group.items()) or "none"))


@app.command("figure")
def figure(ctx: typer.Context,
           kind: FigureKind = typer.Argument(..., help="The figure to draw.", autocompletion=complete("figure_kinds")),
           output: Path = typer.Option(..., "--output", "-o", help="The .svg, .pdf or .png to write."),
           coder: str = CoderOpt,
           by: str = typer.Option(..., "--by", help="Case attribute grouping the cases.",
                                  autocompletion=complete("case_attributes")),
           code_attr: str | None = typer.Option(None, "--code-attr",
                                                help="split: code attribute (default: the first).",
                                                autocompletion=complete("code_attributes")),
           level: CooccurrenceLevel = typer.Option(CooccurrenceLevel.CASE, "--level",
                                                   help="cooccur/dendrogram: co-occurrence level."),
           group: str = typer.Option("all", "--group", help="cooccur: all or one value of --by."),
           measure: Similarity = typer.Option(Similarity.JACCARD, "--measure", help="cooccur: the coefficient shown."),
           size: FigureSize = typer.Option(FigureSize.DOUBLE, "--size",
                                           help="single (89 mm) or double (183 mm) column."),
           count: CountMode = typer.Option(CountMode.CASES, "--count", help="frequency/split: cases or segments."),
           labels: bool = typer.Option(False, "--labels", help="Print the codes' labels instead of their ids."),
           lang: str | None = typer.Option(None, "--lang", help="With --labels: the label language."),
           document_set: str | None = SetOpt) -> None:
    """Journal-ready figure (vector SVG/PDF with embedded fonts, or 600 dpi PNG), without a
    title: the caption belongs to the paper."""
    with opened(ctx, document_set) as project:
        path = project.figure(kind, output, coder, by=by, code_attr=code_attr, level=level, group=group,
                              measure=measure, size=size, count=count, labels=labels, lang=lang)
    typer.echo(f"wrote {path}")


@app.command("report")
def report(ctx: typer.Context,
           output: Path = typer.Option(..., "--output", "-o", help="The .html file to write."),
           coder: str = CoderOpt,
           by: str = typer.Option(..., "--by", help="Case attribute grouping the cases.",
                                  autocompletion=complete("case_attributes")),
           code_attr: str | None = typer.Option(None, "--code-attr",
                                                help="Code attribute of the split (default: the first).",
                                                autocompletion=complete("code_attributes")),
           agree: list[str] = typer.Option([], "--agree", help="Reliability section for these coders (repeat)."),
           per_code: int = typer.Option(2, "--per-code", help="Illustrative quotes per code and group."),
           lang: str | None = typer.Option(None, "--lang", help="Label language."),
           bootstrap: int = typer.Option(0, "--bootstrap",
                                         help="With --agree: resamples for 95% intervals (0: none)."),
           document_set: str | None = SetOpt) -> None:
    """One self-contained HTML synthesis report (figures inline, prints on A4)."""
    with opened(ctx, document_set) as project:
        path = project.synthesis_report(output, coder, by, code_attr=code_attr, agreement=agree or None,
                                        per_code=per_code, lang=lang, bootstrap=bootstrap)
    typer.echo(f"wrote {path}")
