"""``segments_of`` looks only at the segments around a span: the same refs as scanning every
segment of the document (the rule: a span counts for each segment it covers by half)."""

from __future__ import annotations

import random

from qda.models import Coding, Segment, segments_of


def covered_by_scan(coding: Coding, segments: list[Segment]) -> list[str]:
    found = []
    for s in segments:
        common = min(coding.end, s.end) - max(coding.start, s.start)
        if common > 0 and 2 * common >= s.end - s.start:
            found.append(s.ref)
    return found


def test_the_same_refs_as_a_scan_of_every_segment() -> None:
    rng = random.Random(3)
    segments, at = [], 0
    for ordinal in range(1, 400):
        at += rng.choice((0, 1, 2))  # segments touch or leave a gap (spaces, speaker labels)
        length = rng.randint(1, 60)
        segments.append(Segment(f"D#{ordinal}", "D", "D", 1, ordinal, at, at + length, ""))
        at += length
    by_document = {"D": segments}
    for _ in range(3000):
        start = rng.randint(0, at)
        end = start + rng.choice((0, 1, rng.randint(1, 40), rng.randint(1, 400)))
        coding = Coding(coder="c", code="a", document="D", case="D", start=start, end=end)
        assert segments_of(coding, by_document) == covered_by_scan(coding, segments), (start, end)
    assert segments_of(Coding(coder="c", code="a", document="X", case="X", start=0, end=5), by_document) == []
