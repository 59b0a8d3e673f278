"""PyMuPDF without its page-layout analysis.

PyMuPDF 2 imports `pymupdf.layout` (an ONNX model with numpy, networkx and onnxruntime) when
it is itself imported, if that package is installed, and PyMuPDF 2 installs it: 0.6 s of every
build that checks its PDF (the printer's safe zones, the typeset report), for a feature that
nothing here uses (pages are read by their glyphs and pixels, not by layout analysis)."""
from __future__ import annotations

import sys


def load():
    """The `pymupdf` module, imported without `pymupdf.layout` (unless something else in the
    process has imported it already)."""
    sys.modules.setdefault("pymupdf.layout", None)  # type: ignore[arg-type]  # None: ImportError
    import pymupdf

    return pymupdf
