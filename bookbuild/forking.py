"""Work done in a forked copy of this process, its result handed back through a pipe: half of a
part's PDF written (print/engine.py), half of the pages measured for ink (printers.py)."""
from __future__ import annotations

import json
import os
from typing import Callable, TypeVar

T = TypeVar("T")


def forked(work: Callable[[], bytes]) -> tuple[int | None, int | None]:
    """A forked copy of this process that runs `work()` and writes the bytes it returns to a
    pipe: (its pid, the pipe's reading end), or (None, None) when no copy could be made."""
    if not hasattr(os, "fork"):
        return None, None
    reader, writer = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(reader)
        os.close(writer)
        return None, None
    if pid == 0:  # the copy: nothing of the caller's runs here after `work`, and it never returns
        code = 1
        try:
            os.close(reader)
            payload = work()
            with os.fdopen(writer, "wb") as pipe:
                pipe.write(payload)
            code = 0
        finally:
            os._exit(code)
    os.close(writer)
    return pid, reader


def reaped(pid: int | None, reader: int | None) -> bytes | None:
    """What the copy wrote, once it has ended well; None when it failed (or none was made).
    Read before waiting: a copy whose result is larger than the pipe holds waits for it."""
    if pid is None or reader is None:
        return None
    with os.fdopen(reader, "rb") as pipe:
        payload = pipe.read()
    _, status = os.waitpid(pid, 0)
    return payload if os.waitstatus_to_exitcode(status) == 0 else None


def in_halves(first: list, rest: list, here: Callable[[list], T], there: Callable[[list], object],
              taken: Callable[[object], T]) -> tuple[T, T]:
    """(the work on `first`, the work on `rest`): `there(first)` in a forked copy, whose JSON
    comes back through a pipe and is read by `taken` (which raises on anything it cannot take),
    while `here(rest)` runs in this process. A copy that fails, or hands back what `taken`
    refuses, leaves `first` to `here` too."""
    child, reader = forked(lambda: json.dumps(there(first)).encode()) if first else (None, None)
    mine = here(rest)
    found = reaped(child, reader)
    try:
        return (taken(json.loads(found)) if found is not None else here(first)), mine
    except (ValueError, TypeError, AttributeError, IndexError, KeyError):
        return here(first), mine
