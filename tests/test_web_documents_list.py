"""The document list's "coded segments" (the progress bar of each document), counted by
bisection: the same count as testing every coding against every segment."""

from __future__ import annotations

import random

from qda.coding.workspace import coded_segment_count


def by_scan(segments: list[tuple[int, int]], spans: list[tuple[int, int]]) -> int:
    return sum(1 for s, e in segments if any(a < e and b > s for a, b in spans))


def test_the_same_count_as_a_scan() -> None:
    rng = random.Random(5)
    for _ in range(300):
        segments, at = [], 0
        for _ in range(rng.randint(0, 40)):
            at += rng.randint(0, 3)
            length = rng.randint(1, 30)
            segments.append((at, at + length))
            at += length
        spans = []
        for _ in range(rng.randint(0, 25)):
            start = rng.randint(0, at + 5)
            spans.append((start, start + rng.choice((0, 1, rng.randint(1, 200)))))
        assert coded_segment_count(segments, spans) == by_scan(segments, spans), (segments, spans)
    assert coded_segment_count([(0, 5)], []) == 0
    assert coded_segment_count([(0, 5), (6, 9)], [(5, 6)]) == 0  # the gap between them only
    assert coded_segment_count([(0, 5), (6, 9)], [(4, 7)]) == 2
