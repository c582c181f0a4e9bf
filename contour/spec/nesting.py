"""Exact nesting for expression tasks (arithmetic, boolean): how n operands
split into parts so that the parentheses nest exactly `depth` deep."""

from __future__ import annotations

import random


def split_sizes(rng: random.Random, n: int, parts: int) -> list[int]:
    """n split into `parts` positive sizes, uniformly over the cut positions."""
    cuts = sorted(rng.sample(range(1, n), parts - 1))
    return [b - a for a, b in zip([0] + cuts, cuts + [n])]


def spine_layout(rng: random.Random, n: int, depth: int) -> tuple[list[int], int]:
    """Part sizes of a chain of n operands (n >= depth + 2) and the index of its
    spine, the one part that nests depth - 1 deeper inside its parentheses
    (-1 at depth 0, where every operand is its own part)."""
    if depth == 0:
        return [1] * n, -1
    parts = rng.randint(2, n - depth)
    spine_size = rng.randint(depth + 1, n - parts + 1)
    sizes = split_sizes(rng, n - spine_size, parts - 1) if parts > 2 else [n - spine_size]
    spine = rng.randrange(parts)
    sizes.insert(spine, spine_size)
    return sizes, spine
