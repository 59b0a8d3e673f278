"""The book's bold faces: EB Garamond Bold and Bold Italic, instanced from the variable EB Garamond on PyPI.

Regular and italic are EB Garamond 12 from Debian (fonts-ebgaramond), whose Bold has 127
glyphs (no Cyrillic, em dash or curly quotes). The variable EB Garamond of
`fontpkg-eb-garamond` (the same design, carried on by its second author) has every
character the book sets, with small caps and old-style figures; its weight axis is fixed
at 700 with fontTools, once per virtual environment, and the instance is verified by its
hash each time it is used.

`python -m bookbuild.fonts` makes them (the Makefile's setup runs it)."""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

FAMILY = "EB Garamond 12"
WEIGHT = 700
# Bold face → the variable font it is instanced from.
SOURCES = {"bold": "EBGaramond[wght].ttf", "bold-italic": "EBGaramond-Italic[wght].ttf"}
FOLDER = Path(sys.prefix) / "share" / "bookbuild-fonts"


class FontMissing(Exception):
    """The variable EB Garamond is not installed (it comes with requirements.txt)."""


def _source(name: str) -> Path:
    try:
        import fontpkg_eb_garamond
    except ImportError as exc:
        raise FontMissing("the Python package fontpkg-eb-garamond is not installed "
                          "(make setup installs requirements.txt)") from exc
    path = Path(fontpkg_eb_garamond.__file__).parent / "files" / name
    if not path.is_file():
        raise FontMissing(f"{path} is missing from fontpkg-eb-garamond")
    return path


def _recipe(source: Path) -> str:
    """What an instance is made from: the source's bytes, the weight and fontTools' version."""
    import fontTools

    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    return f"{digest} wght={WEIGHT} fonttools={fontTools.version}"


def bold_faces(say=None) -> dict[str, Path]:
    """The bold and bold italic TTFs, made when missing, stale or damaged."""
    return {face: _instance(face, say) for face in SOURCES}


def _instance(face: str, say) -> Path:
    source = _source(SOURCES[face])
    target = FOLDER / f"EBGaramond-{face}.ttf"
    stamp = target.with_suffix(".ttf.stamp")
    recipe = _recipe(source)
    if target.is_file() and stamp.is_file():
        made_from, _, digest = stamp.read_text().partition("\n")
        if made_from == recipe and hashlib.sha256(target.read_bytes()).hexdigest() == digest.strip():
            return target
    if say:
        say(f"fonts: making EB Garamond {face} from the variable font (once)")
    data = _make(source)
    FOLDER.mkdir(parents=True, exist_ok=True)
    _write(target, data)
    _write(stamp, f"{recipe}\n{hashlib.sha256(data).hexdigest()}\n".encode())
    return target


def _make(source: Path) -> bytes:
    import io

    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    font = instancer.instantiateVariableFont(TTFont(source), {"wght": WEIGHT}, updateFontNames=False)
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


def _write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def font_face_css(faces: dict[str, Path]) -> str:
    """@font-face rules that give the book's family its bold faces; each names its file's hash,
    so that a new instance is a new stylesheet (and a new cache key) for the layout."""
    rules = []
    for face, path in faces.items():
        style = "italic" if face.endswith("italic") else "normal"
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        rules.append(f'@font-face {{ font-family: "{FAMILY}"; font-weight: bold; font-style: {style}; '
                     f'src: url("{path.as_uri()}"); }} /* {digest} */')
    return "\n".join(rules) + "\n"


if __name__ == "__main__":
    try:
        made = bold_faces(say=lambda message: print(message, file=sys.stderr))
    except FontMissing as exc:
        print(f"fonts: {exc}", file=sys.stderr)
        sys.exit(1)
    for face, path in made.items():
        print(f"{face}: {path}")
