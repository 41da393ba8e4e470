"""Right-to-left transcripts in the browser workspace (issue 19): an Arabic interview is shown
right to left, and a span coded with the mouse is stored at the code points `qda retrieve` gives."""

from __future__ import annotations

import json
import os
from pathlib import Path

from playwright.sync_api import Browser, expect
from typer.testing import CliRunner

from tests.conftest import run
from tests.test_web_browser import browser, codings, open_as, open_document, serve  # noqa: F401

ARABIC = ("المحاور: كيف وجدتم عملاءكم الأوائل؟ هل كان ذلك صعبا؟\n\n"
          "المستجيب: ذهبنا إلى المَعارِض التجارية في ألمانيا. هناك التقينا بالموزعين الذين يبيعون منتجاتنا الآن.\n\n"
          "المحاور: وماذا عن وسائل التواصل الاجتماعي؟\n\n"
          "المستجيب: لا نستخدمها كثيرا. نفضل الزيارات إلى المختبرات لأن العملاء يريدون رؤية الجهاز.\n")


def test_an_arabic_transcript_is_right_to_left_and_keeps_code_point_offsets(browser: Browser,  # noqa: F811
                                                                             serve, tmp_path: Path) -> None:  # noqa: F811
    cli = CliRunner()
    folder = tmp_path / "p"
    run(cli, "init", folder, "--lang", "ar")
    book = tmp_path / "book.yaml"
    book.write_text("name: T\nlanguages: [ar]\ncodes:\n  - {id: fairs, label: المعارض}\n"
                    "  - {id: visits, label: الزيارات}\n", encoding="utf-8")
    run(cli, "-p", folder, "codebook", "load", book)
    transcript = tmp_path / "A1.txt"
    transcript.write_text(ARABIC, encoding="utf-8")
    run(cli, "-p", folder, "import", "transcripts", transcript)
    page, console = open_as(browser, serve(folder), "alice")
    open_document(page, "A1")
    assert page.locator("#text").get_attribute("dir") == "rtl"
    # a drag from right to left, as an Arabic reader selects, inside one sentence
    sentence = page.locator(f"#text span[data-s='{ARABIC.index('هناك التقينا')}']")
    box = sentence.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] - 3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 160, y, steps=6)
    page.mouse.up()
    expect(page.locator("#picker")).to_be_visible()
    page.keyboard.press("1")
    expect(page.locator(".stripe")).to_have_count(1)
    made = codings(page)[0]
    if os.environ.get("QDA_RTL_SHOT"):
        page.screenshot(path=os.environ["QDA_RTL_SHOT"])
    assert made["text"].strip()
    result = run(cli, "-p", folder, "retrieve", "--coder", "alice", "--format", "json")
    rows = json.loads(result.stdout)
    retrieved = rows["passages"] if isinstance(rows, dict) else rows
    [passage] = retrieved
    assert (passage["start"], passage["end"]) == (made["start"], made["end"])
    text = ARABIC  # the stored text is the file's (already normalised: NFC, LF)
    assert text[made["start"]:made["end"]] == made["text"] == passage["text"]
    assert console.errors == []
