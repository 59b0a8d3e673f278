"""Typography: straight and unbalanced quotes, brackets, apostrophes, ranges, dashes, spaces, dots."""
from __future__ import annotations

import re
from collections.abc import Iterator

from .report import Finding, at, quoted
from .source import DOCUMENT, HEADING, MASK, NOTE, RU, TABLE, Text, inside_word, single_quotes

LETTER = r"[^\W\d_]"
STRAIGHT = re.compile(r"[\"']")
# `Biulleten 'oppozitsii`: a soft sign that slipped to the next word.
MISPLACED = re.compile(rf"(?<=\w)[ \t]+(['’])(?={LETTER})")
RANGE = re.compile(r"(?<![\w.,/–-])(\d{1,4})-(\d{1,4})(?![\w–-]|[.,]\d)")
SPACED_HYPHEN = re.compile(r"(?<=\S)[ \t]+--?[ \t]+(?=\S)|(?<=[^\s-])--(?=[^\s-])")
DOUBLE_SPACE = re.compile(r"(?<=\S)[ \t]{2,}(?=\S)")
DOTS = re.compile(r"\.(?:[ \t]?\.){2,}")
# "1) …", "a) …": a list's enumerator is not half of a pair of parentheses.
ENUMERATOR = re.compile(rf"(?:^|(?<=\s))(?:\d{{1,2}}|{LETTER})[\\\x00]?\)")
OPEN_CLOSE = {"(": ")", "[": "]"}


def check(texts: list[Text]) -> Iterator[Finding]:
    for t in texts:
        yield from _straight(t)
        yield from _patterns(t)
        for start, end in t.paragraphs:
            if t.flags[start] & TABLE:
                continue
            yield from _brackets(t, start, end)
        yield from _quotes(t)


def _prose(t: Text, offset: int) -> bool:
    """Typography is the book's, not a facsimile's: documents keep their own."""
    return not t.flags[offset] & DOCUMENT


def _straight(t: Text) -> Iterator[Finding]:
    for m in STRAIGHT.finditer(t.view):
        if _prose(t, m.start()):
            kind = "quote" if m.group() == '"' else "apostrophe or quote"
            right = "“ or ”" if m.group() == '"' else "’ or ‘"
            yield at(t, m.start(), "L001", f"straight {kind} {m.group()} (use {right}) in "
                     f"{quoted(_around(t, m.start()), 40)}", m.group())


def _around(t: Text, offset: int, width: int = 18) -> str:
    line_start = t.view.rfind("\n", 0, offset) + 1
    line_end = t.view.find("\n", offset)
    line_end = len(t.view) if line_end < 0 else line_end
    return t.view[max(line_start, offset - width):min(line_end, offset + width)].replace(MASK, "")


def _patterns(t: Text) -> Iterator[Finding]:
    view = t.view
    for m in MISPLACED.finditer(view):
        if _prose(t, m.start()):
            word = re.search(rf"\w*\s+['’]{LETTER}+", view[max(0, m.start() - 30):m.end() + 30])
            subject = word.group() if word else m.group()
            yield at(t, m.start(1), "L004", f"misplaced apostrophe in {quoted(subject)}: "
                     "a soft sign or possessive belongs to the word before it", subject)
    for m in RANGE.finditer(view):
        if _prose(t, m.start()) and not t.flags[m.start()] & RU:
            yield at(t, m.start() + len(m.group(1)), "L005",
                     f"hyphen in the range {m.group()} (use an en dash: {m.group(1)}–{m.group(2)})", m.group())
    for m in SPACED_HYPHEN.finditer(view):
        if _prose(t, m.start()) and not t.flags[m.start()] & TABLE:
            yield at(t, m.start() + len(m.group()) - len(m.group().lstrip()), "L006",
                     f"hyphen used as a dash in {quoted(_around(t, m.start()), 40)} (use —)", m.group().strip())
    for m in DOUBLE_SPACE.finditer(view):
        if _prose(t, m.start()) and not t.flags[m.start()] & TABLE and MASK not in view[m.start() - 1:m.end() + 1]:
            before = re.search(r"\S+$", view[:m.start()]).group()
            after = re.match(r"\S+", view[m.end():]).group()
            yield at(t, m.start(), "L007", f"double space between “{before}” and “{after}”", f"{before} {after}")
    for m in DOTS.finditer(view):
        if _prose(t, m.start()):
            yield at(t, m.start(), "L008", f"three dots {quoted(m.group())} for an ellipsis (use …)",
                     _around(t, m.start()))


def _brackets(t: Text, start: int, end: int) -> Iterator[Finding]:
    view = t.view
    enumerators = {m.end() - 1 for m in ENUMERATOR.finditer(view, start, end)}
    stack: list[tuple[str, int]] = []
    for i in range(start, end):
        c = view[i]
        if c in "([":
            stack.append((c, i))
        elif c in ")]":
            if stack and OPEN_CLOSE[stack[-1][0]] == c:
                stack.pop()
            elif i in enumerators and not stack:
                continue
            elif any(OPEN_CLOSE[o] == c for o, _ in stack):
                # "( … [ … )": the bracket opened inside is the one left open.
                while OPEN_CLOSE[stack[-1][0]] != c:
                    o, j = stack.pop()
                    yield _unclosed(t, o, j)
                stack.pop()
            else:
                yield at(t, i, "L003", f"closing {c} without an opening one in the paragraph: "
                         f"{quoted(_around(t, i, 30), 60)}", c)
    for o, j in stack:
        yield _unclosed(t, o, j)


def _unclosed(t: Text, o: str, j: int) -> Finding:
    return at(t, j, "L003", f"{o} is not closed in the paragraph: {quoted(_around(t, j, 30), 60)}", o)


def _quotes(t: Text) -> Iterator[Finding]:
    """Double quotes pair up within a paragraph, except in a quotation that runs on over
    paragraphs: either each paragraph is left open and the next opens with “ (the English
    convention), or, printed as a block, the first opens, the last closes and those between
    hold no double quotes."""
    figures = {s for s, _, _ in t.figures}
    paras = [(s, e) for s, e in t.paragraphs
             if _prose(t, s) and not t.flags[s] & TABLE and s not in figures]
    balance = [_balance(t.view, s, e) for s, e in paras]
    consumed: set[int] = set()
    for n, (opens, strays) in enumerate(balance):
        for i in strays:
            if i not in consumed:
                yield at(t, i, "L002", f"closing ” without an opening “: {quoted(_around(t, i, 30), 60)}", "”")
        if not opens:
            continue
        for i in opens[:-1]:
            yield _unclosed_quote(t, i)
        closer = _running_close(t, paras, balance, n)
        if closer is None:
            yield _unclosed_quote(t, opens[-1])
        elif closer >= 0:
            consumed.add(closer)
    for i in single_quotes(t)[1]:
        if _prose(t, i) and not t.flags[i] & TABLE:
            yield at(t, i, "L002", f"opening ‘ is never closed: {quoted(_around(t, i, 30), 60)}", "‘")


def _balance(view: str, start: int, end: int) -> tuple[list[int], list[int]]:
    """Opening quotes left open and closing quotes with no opening one, in one paragraph."""
    opens: list[int] = []
    strays: list[int] = []
    for i in range(start, end):
        c = view[i]
        if c == "“":
            opens.append(i)
        elif c == "”" and not inside_word(view, i):
            if opens:
                opens.pop()
            else:
                strays.append(i)
    return opens, strays


def _running_close(t: Text, paras, balance, n: int) -> int | None:
    """Where the quotation left open in paragraph n closes: -1 when the next paragraph opens
    with “, the offset of the closing ” in a later paragraph, or None when nothing closes it."""
    view = t.view
    region = _region(t, paras[n][0])
    for k in range(n + 1, min(n + 40, len(paras))):
        start, end = paras[k]
        if t.flags[start] & HEADING or _region(t, start) != region:
            return None
        if k == n + 1 and view[start:start + 3].lstrip(MASK + " ").startswith("“"):
            return -1
        opens, strays = balance[k]
        if strays:
            return strays[0] if not opens or opens[0] > strays[0] else None
        if "“" in view[start:end]:
            return None
    return None


def _region(t: Text, offset: int) -> int:
    """Which note an offset is in (its index), or -1 for the main text."""
    if not t.flags[offset] & NOTE:
        return -1
    return next((k for k, (_, a, _, e) in enumerate(t.notes) if a <= offset <= e), -1)


def _unclosed_quote(t: Text, i: int) -> Finding:
    return at(t, i, "L002", f"opening “ is never closed: {quoted(_around(t, i, 30), 60)}", "“")
