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
# How far a space may stretch and shrink, in spaces, at r = 1: to 1.5 times the face's own
# (TeX's plain stretch) and to 0.8 (the engine narrows the spaces of a line set wider than
# the measure, as justification widens the others).
STRETCH = 0.5
SHRINK = 0.2
# The passes: no hyphenation while every space stays under 1.5 times normal, then hyphens
# allowed up to 2 times, then whatever is least bad.
PASSES = ((False, 1.0), (True, 2.0), (True, inf))


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


def choose(breaks: list[Break], first_width: float, width: float, space: float) -> Plan | None:
    """The breaks of least demerits for lines of `width` (the first `first_width`), `space`
    the face's own space; None when no line can be set without overflowing."""
    for hyphenate, tolerance in PASSES:
        candidates = breaks if hyphenate else [b for b in breaks if b.kind != "hyphen"]
        found = _best(candidates, first_width, width, space, tolerance)
        if found is not None:
            return _plan(found, candidates)
    return None


def _stretch(ratio: float) -> float:
    """How stretched (or shrunk) a line whose spaces are `ratio` times the face's is, as TeX's r."""
    return (ratio - 1) / STRETCH if ratio >= 1 else (1 - ratio) / SHRINK


def _fitness(ratio: float) -> int:
    """TeX's fitness classes by how the line's spaces compare with the face's."""
    return 0 if ratio < 0.9 else 1 if ratio <= 1.25 else 2 if ratio <= 1.5 else 3


def _best(breaks: list[Break], first_width: float, width: float, space: float, tolerance: float):
    """Dynamic programming over breaks; each break keeps its best node per (fitness class,
    hyphens running). Returns the node chain's last node, or None."""
    most = width * SHRINK  # no line shrinks by more (a line of spaces alone would)
    # nodes[i]: {(fitness, run): (demerits, previous node key, r)}
    nodes: list[dict] = [dict() for _ in breaks]
    # A paragraph chosen again from a line on (engine.avoid_hyphen_at_page_end) may start after
    # a hyphenated line: the run of hyphens goes on.
    nodes[0][(0, int(breaks[0].hyphenated))] = (0.0, None, 0.0)
    # The breaks' fields as plain lists: the loop below reads them a million times a book.
    starts = [b.start for b in breaks]
    spaces_start = [b.spaces_start for b in breaks]
    hyphenated = [b.hyphenated for b in breaks]
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
            shrinkable = 0.0 if last else spaces * space * SHRINK
            if width_of > measure + shrinkable + 1e-6:
                continue
            ratio = 1 + (measure - width_of) / (spaces * space) if spaces > 0 else inf
            r = 0.0 if last else _stretch(ratio)
            if r > tolerance:
                if i > 0 and ratio > 1:
                    break
                continue
            badness = 100 * r ** 3 if r != inf else 1e8
            base = (LINE_PENALTY + badness) ** 2 + penalty
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
                    here[key] = (d, (i, (afit, run)), r)
    final = nodes[-1]
    if not final:
        return None
    key = min(final, key=lambda k: final[k][0])
    return nodes, (len(breaks) - 1, key)


def _plan(found, breaks: list[Break]) -> Plan:
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
        plan.ends[a.offset] = b.offset
        plan.stretches.append(r)
    plan.lines = len(chain)
    return plan
