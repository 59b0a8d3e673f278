"""Whole-paragraph line breaking (Knuth and Plass): the breaks of least total demerits."""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from math import inf

# TeX's plain values, but for the hyphen, which costs as much as a line of badness 300 (spaces
# about 1.7 times the face's): the book's measure is narrow enough that a cheaper hyphen left
# one line in four hyphenated. Demerits are (line penalty + badness)² + penalty²,
# with extra demerits for two hyphenated lines running, a hyphen on the last full line, and
# lines of very different looseness touching.
LINE_PENALTY = 10
HYPHEN_PENALTY = 300
EXPLICIT_PENALTY = 50
DOUBLE_HYPHEN_DEMERITS = 10000
FINAL_HYPHEN_DEMERITS = 5000
ADJACENT_DEMERITS = 10000
MAX_HYPHEN_RUN = 2
# How far a space may stretch and shrink, in spaces, at r = 1. EB Garamond's space is narrow
# (a fifth of an em, where Computer Modern's is a third), so a line's spaces have little to
# give: r = 1 is at 1.85 times the face's space (TeX's plain stretch is half of its wider
# space). They shrink to three quarters of it (the engine narrows the spaces of a line set
# wider than the measure, as justification widens the others), and never further: pdftotext
# and other readers of the text layer find a word break only where the gap is over about
# 0.15 em, and at 0.7 of a space "Exile did not silence" was copied as "Exiledidnotsilence"
# (tests/test_pdf.py reads every paragraph back; the typeset report gives the tightest gap,
# and a real-book test holds it at three quarters).
STRETCH = 0.85
SHRINK = 0.25
# A line whose spaces are more than twice the face's reads as loose (issue 14 counts them): in
# the last pass, where no plan keeps every line within tolerance, each such line costs more
# than any other choice, and the more the looser it is ((ratio - 1)², so that one line at
# 3.5 times does not pass for better than two at 2.1): the plan has as few as can be.
LOOSE = 2.0
LOOSE_DEMERITS = 1e9
# The passes (whether to hyphenate, the tolerance as r): no
# hyphenation while every space stays within 1.85 times normal, then hyphens allowed up to
# 2 times, then whatever is least bad.
PASSES = ((False, 1.0), (True, None), (True, inf))  # None: as loose as LOOSE
# Letter spacing, as microtype's tracking and expansion: at r = 1 a line's letters are set
# TRACK em apart more (or TRACK_SHRINK em less) than the face sets them, and its spaces take
# the rest. The line's letters and spaces share a stretch in proportion to what each can
# give, so the spaces of every line stay at 1 + r·STRETCH of the face's (beyond TRACK_MOST
# only the spaces stretch). The engine letter-spaces each chosen line; the text layer keeps
# its words (tests/test_pdf.py). Measured by the typeset report on the real book: hyphens
# from 107 to 58 per 1,000 justified lines, lines over 2x from 1.05 % to 0.30 %.
TRACK = 0.01
# Letters are never set closer: at 0.005 em closer, with the spaces at three quarters,
# pdftotext -raw copied "was received by an official" as "wasreceivedbyanofficial" (the
# real-book index test caught it), and a fifth of shrink less cost more hyphens than it saved.
TRACK_SHRINK = 0.0
# A line looser than r = 1 (which only a paragraph with no better choice has) lets its letters
# go on taking their share up to r = TRACK_MOST: a little more letter spacing reads better
# than spaces over twice the face's.
TRACK_MOST = 1.5
# Measured on this book's 2,472 justified paragraphs (the plans' own figures, which the typeset
# report's agree with), before letter spacing: TeX's plain stretch (0.5) and a fifth of
# shrink gave 194 hyphenated line ends per 1,000 lines and 1.18 % of lines over 2x; these
# values 106 and 0.92 %. A third of shrink would give 84 and 0.34 %, at the cost of words
# run together in the text layer.


@dataclass
class Break:
    """A place a line may end: `end` is where a line ending here stops (before the space, or
    after the hyphen it adds), `start` where the next line starts, both as x in the paragraph's
    one long line; `spaces` counts the spaces before the break (for the stretch)."""

    offset: int          # byte offset, in the paragraph's text, where the next line starts
    end: float
    start: float
    spaces_end: int      # spaces before `end`, and before `start`
    spaces_start: int
    kind: str = "space"  # first, space, hyphen (adds one), explicit (after a hyphen or dash), last
    penalty: float = 0.0
    detail: object = None  # what the engine needs to measure a hyphenated line exactly
    hyphenated: bool = False  # the line ends in a hyphen: one added, or the word's own
    letters_end: int = 0  # letters (not spaces) before `end`, and before `start`
    letters_start: int = 0


@dataclass
class Plan:
    """The chosen breaks: each line's start offset → its natural width and where the next line
    starts (the last line has no width: it is set as it comes)."""

    widths: dict[int, float] = field(default_factory=dict)
    ends: dict[int, int] = field(default_factory=dict)
    chain: list[tuple[Break, Break]] = field(default_factory=list)
    lines: int = 0
    stretches: list[float] = field(default_factory=list)
    # Breaks no longer to be chosen (a hyphen that ended a page), and what the engine needs
    # to choose the rest again.
    forbidden: set[int] = field(default_factory=set)
    remake: object = None
    # Starts of the lines that end at a space (the engine lets such a line hold its trailing space),
    # and of those that end in a hyphen the break adds.
    at_space: set[int] = field(default_factory=set)
    hyphenated: set[int] = field(default_factory=set)
    # Each line's start → the letter spacing it is set with, in px (none: as the face sets it).
    tracking: dict[int, float] = field(default_factory=dict)


def choose(breaks: list[Break], first_width: float, width: float, space: float,
           em: float = 0.0, passes=PASSES) -> Plan | None:
    """The breaks of least demerits for lines of `width` (the first `first_width`), `space`
    the face's own space, `em` its size (for the letter spacing; 0: none); None when no line
    can be set without overflowing (in `passes`, a part of PASSES)."""
    for hyphenate, tolerance in passes:
        if tolerance is None:
            # A space is letter-spaced too: what the reader sees between words is the space
            # and the letter spacing (TRACK at the r this pass reaches).
            tolerance = (LOOSE - 1) / (STRETCH + (TRACK * em / space if space else 0.0))
        candidates = breaks if hyphenate else [b for b in breaks if b.kind != "hyphen"]
        found = _best(candidates, first_width, width, space, tolerance, em)
        if found is not None:
            return _plan(found, candidates, em)
    return None


def _stretch(gap: float, spaces: float, letters: float) -> float:
    """How stretched (or shrunk, r < 0) a line is, as TeX's r: `gap` px to fill (or to take
    away, gap < 0) with `spaces` px of spaces and `letters` px of letters' tracking at r = 1."""
    if gap >= 0:
        room = spaces * STRETCH + letters * TRACK
        if gap <= room * TRACK_MOST:
            return gap / room if room else 0.0
        return TRACK_MOST + (gap - room * TRACK_MOST) / (spaces * STRETCH) if spaces else inf
    room = spaces * SHRINK + letters * TRACK_SHRINK
    return gap / room if room else -inf


def ratio_of(r: float) -> float:
    """The spaces of a line at `r`, as a multiple of the face's space."""
    return 1 + r * STRETCH if r >= 0 else 1 + r * SHRINK


def tracking_of(r: float, em: float) -> float:
    """The letter spacing of a line at `r`, px."""
    return min(r, TRACK_MOST) * TRACK * em if r >= 0 else r * TRACK_SHRINK * em


def _fitness(ratio: float) -> int:
    """TeX's fitness classes by how the line's spaces compare with the face's."""
    return 0 if ratio < 0.9 else 1 if ratio <= 1.25 else 2 if ratio <= 1.5 else 3


def _best(breaks: list[Break], first_width: float, width: float, space: float, tolerance: float,
          em: float):
    """Dynamic programming over breaks; each break keeps its best node per (fitness class,
    hyphens running). Returns the node chain's last node, or None."""
    most = width * (SHRINK + 10 * TRACK_SHRINK)  # no line shrinks more (letters are over 0.1 em)
    # nodes[i]: {(fitness, run): (demerits, previous node key, r)}
    nodes: list[dict] = [dict() for _ in breaks]
    # A paragraph chosen again from a line on (engine.avoid_hyphen_at_page_end) may start after
    # a hyphenated line: the run of hyphens goes on.
    nodes[0][(0, int(breaks[0].hyphenated))] = (0.0, None, 0.0)
    # The breaks' fields as plain lists: the loop below reads them a million times a book.
    starts = [b.start for b in breaks]
    spaces_start = [b.spaces_start for b in breaks]
    hyphenated = [b.hyphenated for b in breaks]
    letters_start = [b.letters_start for b in breaks]
    track = em if TRACK or TRACK_SHRINK else 0.0
    for j in range(1, len(breaks)):
        b = breaks[j]
        last = b.kind == "last"
        b_end, b_spaces, hyphen = b.end, b.spaces_end, b.hyphenated
        penalty = b.penalty ** 2
        lo = bisect_left(starts, b_end - width - most, 1, j)
        here = nodes[j]
        for i in (0, *range(max(lo, 1), j)):
            held_i = nodes[i]
            if not held_i:
                continue
            measure = first_width if i == 0 else width
            width_of = b_end - starts[i]
            spaces = b_spaces - spaces_start[i]
            if last:
                if width_of > measure + 1e-6:
                    continue
                r = 0.0
            else:
                r = _stretch(measure - width_of, spaces * space, (b.letters_end - letters_start[i]) * track)
                if r < -1 - 1e-9:
                    continue
                if r > tolerance:
                    if i > 0:
                        break
                    continue
            ratio = ratio_of(r) + (tracking_of(r, track) / space if track and r != inf else 0.0)
            signed, r = r, abs(r)
            badness = 100 * r ** 3 if r != inf else 1e8
            base = (LINE_PENALTY + badness) ** 2 + penalty
            if ratio > LOOSE and not last:
                base += LOOSE_DEMERITS * (ratio - LOOSE + 1) ** 2
            fit = _fitness(ratio)
            final_hyphen = last and hyphenated[i]
            for (afit, run), (dem, _, _) in held_i.items():
                newrun = run + 1 if hyphen else 0
                if newrun > MAX_HYPHEN_RUN:
                    continue
                d = dem + base
                if hyphen and run:
                    d += DOUBLE_HYPHEN_DEMERITS
                if final_hyphen:
                    d += FINAL_HYPHEN_DEMERITS
                if abs(fit - afit) > 1 and not last:
                    d += ADJACENT_DEMERITS
                key = (fit, newrun)
                held = here.get(key)
                if held is None or d < held[0]:
                    here[key] = (d, (i, (afit, run)), signed)
    final = nodes[-1]
    if not final:
        return None
    key = min(final, key=lambda k: final[k][0])
    return nodes, (len(breaks) - 1, key)


def _plan(found, breaks: list[Break], em: float = 0.0) -> Plan:
    nodes, (j, key) = found
    chain = []
    while True:
        _, previous, r = nodes[j][key]
        if previous is None:
            break
        chain.append((previous[0], j, r))
        j, key = previous
    plan = Plan()
    for i, j, r in reversed(chain):
        a, b = breaks[i], breaks[j]
        if b.kind != "last":
            plan.widths[a.offset] = b.end - a.start
            plan.chain.append((a, b))
            if b.kind == "space":
                plan.at_space.add(a.offset)
            elif b.kind == "hyphen":
                plan.hyphenated.add(a.offset)
            if em and r and r != inf:
                plan.tracking[a.offset] = tracking_of(r, em)
        plan.ends[a.offset] = b.offset
        plan.stretches.append(r)
    plan.lines = len(chain)
    return plan
