"""The book PDF's name tree, made at once (assemble._name_tree)."""
from __future__ import annotations

import io

import pikepdf

from bookbuild.print import assemble


def test_the_name_tree_finds_every_name_in_order_across_its_leaves():
    """More names than a leaf holds, ids in Latin and in Cyrillic (a UTF-16 string in the PDF):
    every one is found by qpdf's look-up, which walks the leaves' limits, and the names come
    out in the order of their text."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    page = pdf.pages[0].obj
    names = [f"ch{n}-fn{k}" for n in range(3) for k in range(60)] + ["gl-бам", "gl-икр", "gl-zek", "a", "h1", "zz"]
    named = {name: pikepdf.Array([page, pikepdf.Name.XYZ, 0, i, 0]) for i, name in enumerate(names)}
    pdf.Root.Names = pikepdf.Dictionary(Dests=assemble._name_tree(pdf, named))
    buffer = io.BytesIO()
    pdf.save(buffer)
    with pikepdf.open(io.BytesIO(buffer.getvalue())) as doc:
        kids = doc.Root.Names.Dests.Kids
        assert len(kids) == -(-len(names) // assemble.NAMES_PER_LEAF) > 1
        tree = pikepdf.NameTree(doc.Root.Names.Dests)
        assert list(tree.keys()) == sorted(names)
        for i, name in enumerate(names):
            assert name in tree and float(tree[name][3]) == i, name
        assert "gl-abc" not in tree
        limits = [(str(kid.Limits[0]), str(kid.Limits[1])) for kid in kids]
        assert limits == sorted(limits) and all(a <= b for a, b in limits)


def test_an_empty_name_tree_is_a_root_with_no_names():
    pdf = pikepdf.new()
    root = assemble._name_tree(pdf, {})
    assert list(root.Names) == [] and "/Kids" not in root
    assert list(pikepdf.NameTree(root).keys()) == []
