"""calibre's ebook-convert with each of its warnings and errors marked, so they can be counted.

    calibre-debug -e scripts/calibre-convert.py IN OUT [ebook-convert options]

calibre's log prints warnings like any other line (in yellow on a terminal only); here
every line logged at warning level starts with "calibre WARNING:" and at error level with
"calibre ERROR:". Run by bookbuild/kindle.py with calibre's own Python (calibre-debug).
"""
import sys

from calibre.ebooks.conversion.cli import main
from calibre.utils import logging as calibre_logging

MARKS = {calibre_logging.WARN: "calibre WARNING:", calibre_logging.ERROR: "calibre ERROR:"}


def prints(self, level, *args, **kwargs):
    mark = MARKS.get(level)
    self._prints(*((mark,) if mark else ()), *args, **kwargs)


calibre_logging.ANSIStream.prints = prints
sys.exit(main(["ebook-convert", *sys.argv[1:]]))
