"""Every YAML file the pipeline reads: the safe loader, standard tags only, aliases and depth bounded."""
from __future__ import annotations

import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Deeper than any of our files needs by far, and well inside Python's recursion limit.
MAX_DEPTH = 60
# Nodes counted with every alias expanded: the real book's largest file (index.yaml) has
# about 20,000; a "billion laughs" bomb of nine aliases nine deep has 387 million, which
# lint's walk over every string would expand.
MAX_NODES = 1_000_000
ALLOWED_TAGS = {f"tag:yaml.org,2002:{t}" for t in
                ("str", "int", "float", "bool", "null", "seq", "map", "timestamp", "merge", "value")}


class LimitError(yaml.MarkedYAMLError):
    """A YAML file beyond our limits or with a tag we do not construct; located like a syntax error."""

    def __init__(self, node: yaml.Node, problem: str):
        super().__init__(problem=problem, problem_mark=node.start_mark)


def compose(text: str) -> yaml.Node | None:
    """The node tree of `text`, checked (raises yaml.YAMLError, located, when it is not fit to read)."""
    try:
        root = yaml.compose(text, Loader=LOADER)
    except RecursionError:
        raise yaml.YAMLError(f"nested deeper than {MAX_DEPTH} levels") from None
    if root is not None:
        _check(root)
    return root


def load(text: str):
    """The data of `text` (the checked node tree, built by the safe constructor)."""
    root = compose(text)
    if root is None:
        return None
    constructor = yaml.constructor.SafeConstructor()
    return constructor.construct_document(root)


def _check(root: yaml.Node) -> None:
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if depth > MAX_DEPTH:
            raise LimitError(node, f"nested deeper than {MAX_DEPTH} levels")
        if node.tag not in ALLOWED_TAGS:
            raise LimitError(node, f"tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not allowed "
                                   "(plain text, numbers, lists and mappings only)")
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        sizes[id(node)] = total
        return total

    if size(root, 0) > MAX_NODES:
        raise LimitError(_smallest_over(root, sizes), f"aliases expand to more than {MAX_NODES:,} "
                                                      "values (an alias bomb?)")


def _smallest_over(node: yaml.Node, sizes: dict[int, int]) -> yaml.Node:
    """The innermost node whose expansion alone passes the limit: where the bomb is."""
    while True:
        children = node.value if isinstance(node, yaml.SequenceNode) else \
            [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else []
        bigger = next((c for c in children if sizes.get(id(c), 0) > MAX_NODES), None)
        if bigger is None:
            return node
        node = bigger
