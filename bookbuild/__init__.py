"""Book-production pipeline: clean Markdown sources to EPUB 3 and print PDF."""
