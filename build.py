#!/usr/bin/env python3
"""Build the book: python build.py import|check-sources|epub|pdf|... (see --help)."""
import sys

from bookbuild.cli import main

if __name__ == "__main__":
    sys.exit(main())
