"""Atomic writes: a failed or interrupted build never replaces a good file."""
from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import tempfile
import time
from pathlib import Path


def write_atomic(path: str | Path, data: bytes | str) -> None:
    """Write to a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        # mkstemp makes the file private; outputs are for everyone to read.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            # A full disk says so at write() or close(), with no file name: name it.
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


def text_position(data: bytes, offset: int) -> tuple[int, int]:
    """Line and column (from 1) of byte `offset` in `data`, columns counted in characters."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column


class NotUTF8(ValueError):
    """A source file that is not UTF-8, with the place of its first bad byte."""

    def __init__(self, data: bytes, exc: UnicodeDecodeError):
        self.line, self.col = text_position(data, exc.start)
        super().__init__(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at line {self.line}, "
                         f"column {self.col}): save the file as UTF-8")


def read_utf8(path: str | Path) -> str:
    """A text file's contents; NotUTF8 (located) when it is not UTF-8."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotUTF8(data, exc) from None


# Leftovers of a build, by the process that made them: write_atomic's temporary files,
# the caches' `<key>.<pid>.tmp`, and dist's staging folders `.dist-<version>-<pid>-…`.
LEFTOVERS = (re.compile(r"\..+\.(\d+)-[^.]+\.tmp"), re.compile(r"[^.]+\.(\d+)\.tmp"),
             re.compile(r"\.dist-.+-(\d+)-[^-.]+"))
# Leftovers named before the process was part of the name: old enough to be no build's.
UNOWNED = (re.compile(r"\..+\.tmp"), re.compile(r"\.dist-.+"))
STALE_AFTER = 3600


def sweep_leftovers(*folders: Path) -> list[Path]:
    """Remove what killed builds left in `folders` (and their immediate subfolders): temporary
    files and staging folders whose process is gone. Returns what it removed."""
    removed = []
    for folder in folders:
        for entry in [*_entries(folder), *(e for sub in _entries(folder) if sub.is_dir() and
                                             not sub.name.startswith(".") for e in _entries(sub))]:
            if _abandoned(entry):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed.append(entry)
    return removed


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def _abandoned(entry: Path) -> bool:
    for pattern in LEFTOVERS:
        m = pattern.fullmatch(entry.name)
        if m:
            return not _alive(int(m.group(1)))
    if any(p.fullmatch(entry.name) for p in UNOWNED):
        try:
            return time.time() - entry.lstat().st_mtime > STALE_AFTER
        except OSError:
            return False
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def exchange(a: Path, b: Path) -> None:
    """Swap two paths on one file system in one step (Linux renameat2 RENAME_EXCHANGE), so
    that neither name is ever missing; OSError where the system or file system cannot."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "renameat2"):
        raise OSError(errno.ENOSYS, "renameat2 is not available", str(a))
    at_fdcwd, rename_exchange = -100, 2
    if libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange):
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(a))


def tree_digest(folder: Path, skip: tuple[str, ...] = ()) -> str:
    """SHA-256 over every file under `folder` (names and contents), leaving out folders named in `skip`."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()
                       and not set(p.relative_to(folder).parts[:-1]) & set(skip)):
        digest.update(path.relative_to(folder).as_posix().encode("utf-8", "surrogateescape") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
