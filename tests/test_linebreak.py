"""Whole-paragraph line breaking (bookbuild/print/linebreak.py) on synthetic paragraphs."""
from __future__ import annotations

from bookbuild.print.linebreak import Break, choose

SPACE = 3.0


def paragraph(words: list[str], hyphens: dict[int, int] | None = None) -> list[Break]:
    """Breaks of a paragraph of words set in a fixed-width face (a letter is 6 units wide),
    `hyphens` giving, per word index, one hyphenation point (letters before it)."""
    hyphens = hyphens or {}
    breaks, x, spaces, offset = [Break(0, 0.0, 0.0, 0, 0, "first")], 0.0, 0, 0
    for n, word in enumerate(words):
        if n in hyphens:
            k = hyphens[n]
            breaks.append(Break(offset + k, x + 6 * k + 4, x + 6 * k, spaces, spaces, "hyphen", 100,
                                hyphenated=True))
        x += 6 * len(word)
        offset += len(word)
        if n < len(words) - 1:
            breaks.append(Break(offset + 1, x, x + SPACE, spaces, spaces + 1, "space"))
            x += SPACE
            spaces += 1
            offset += 1
    breaks.append(Break(offset, x, x, spaces, spaces, "last"))
    return breaks


def lines(plan, breaks) -> list[tuple[int, int]]:
    return [(a.offset, b.offset) for a, b in plan.chain]


def test_a_loose_line_is_avoided_by_breaking_earlier():
    # Greedy fills "aaaa bbbb cccc" (87) into 90 and leaves "dddddddddddddd" alone on a very loose
    # line; whole-paragraph breaking evens the lines out.
    words = ["aaaa", "bbbb", "cccc", "dddddddddddd", "ee", "ff", "gg", "hh", "ii"]
    breaks = paragraph(words)
    plan = choose(breaks, 90.0, 90.0, SPACE)
    assert plan is not None
    assert max(plan.stretches[:-1]) < 8  # r of every line but the last


def test_no_hyphen_while_the_lines_can_do_without():
    words = ["aaaa", "bbbb", "cccc", "dddd", "eeee", "ffff", "gggg", "hhhh"]
    breaks = paragraph(words, hyphens={3: 2, 5: 2})
    plan = choose(breaks, 57.0, 57.0, SPACE)
    assert plan is not None and not any(b.hyphenated for _, b in plan.chain)


def test_at_most_two_hyphenated_lines_running():
    # Every line could end on a hyphen; no three in a row do.
    words = ["aaaaaaaa"] * 12
    breaks = paragraph(words, hyphens={n: 4 for n in range(12)})
    plan = choose(breaks, 80.0, 80.0, SPACE)
    assert plan is not None
    run = longest = 0
    for _, b in plan.chain:
        run = run + 1 if b.hyphenated else 0
        longest = max(longest, run)
    assert longest <= 2


def test_spaces_shrink_a_quarter_at_most():
    # Eight words of 24 and 7 spaces take 213: into 208 when a space may lose a quarter (0.75 of
    # 3), not into 207, where seven words set at 2.17 times the space are the lesser evil.
    words = ["aaaa"] * 8 + ["bbbb"] * 4
    assert choose(paragraph(words), 208.0, 208.0, SPACE).widths == {0: 213.0}
    assert choose(paragraph(words), 207.0, 207.0, SPACE).widths == {0: 186.0}


def test_nothing_fits_gives_no_plan():
    assert choose(paragraph(["aaaaaaaaaaaaaaaaaaaa", "bb"]), 50.0, 50.0, SPACE) is None


def test_a_run_of_hyphens_goes_on_from_a_hyphenated_line_before():
    # Chosen again from a line that follows a hyphenated one: one more hyphen at most, then none.
    words = ["aaaaaaaa"] * 12
    breaks = paragraph(words, hyphens={n: 4 for n in range(12)})
    breaks[0].hyphenated = True
    plan = choose(breaks, 80.0, 80.0, SPACE)
    ends = [b.hyphenated for _, b in plan.chain]
    assert not (ends[0] and ends[1])


def lettered(words: list[str]) -> list[Break]:
    """`paragraph`, with each break counting the letters before it (for the letter spacing)."""
    breaks = paragraph(words)
    for b in breaks:
        b.letters_end = b.letters_start = b.offset - b.spaces_start
    return breaks


def test_letters_take_a_share_of_the_stretch_and_the_spaces_stay_even():
    """Letter spacing as microtype's expansion: a paragraph whose best lines without it leave
    spaces over twice the face's is set with none so, each line's letters moved no further
    than TRACK_MOST·TRACK em apart (TRACK_SHRINK closer)."""
    from bookbuild.print.linebreak import TRACK, TRACK_MOST, TRACK_SHRINK, ratio_of

    words = ["a" * n for n in (7, 3, 5, 6, 6, 3, 3, 9, 9, 3, 7, 3, 8, 4, 2, 6, 8, 8, 3, 2)]
    em = 5 * SPACE
    plain = choose(lettered(words), 300.0, 300.0, SPACE)
    spaced = choose(lettered(words), 300.0, 300.0, SPACE, em)
    assert max(ratio_of(r) for r in plain.stretches[:-1]) > 2.2 and not plain.tracking
    assert max(ratio_of(r) for r in spaced.stretches[:-1]) < 2
    assert spaced.tracking and all(-TRACK_SHRINK * em - 1e-9 <= t <= TRACK_MOST * TRACK * em
                                   for t in spaced.tracking.values())
    assert set(spaced.tracking) <= set(spaced.widths)  # the last line is set as it comes
