"""`--shard i/n`: one of n disjoint shares of a run's points.

Shard i (1-based) of n takes the points whose rank, in the order of the
sha256 of their point ids, is i-1 modulo n. So:

- the shares are disjoint and together cover the grid (every rank has
  exactly one remainder), and differ in size by at most one point;
- a point's every round stays in its shard (adaptive stopping needs the
  point's earlier rounds), because whole points are shared out, not steps;
- the split depends only on the grid, which the run's fingerprint fixes, so
  any machine computes the same shares; it does not follow the config's
  task order, so each shard gets a mix of tasks and difficulties.

A shard's folder carries its own fingerprint (the run's, plus the shard),
so a resume never mixes shards, and `manifest.json` records
`{"index", "count", "run_fingerprint"}` so that `contour evaluate` and
`contour merge` can put the shards of one run back together.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from contour.errors import ContourError
from contour.spec.manifold import Point

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    index: int   # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def manifest_entry(self, run_fingerprint: str) -> dict[str, Any]:
        return {"index": self.index, "count": self.count, "run_fingerprint": run_fingerprint}


def parse_shard(text: str | None) -> Shard | None:
    """`--shard i/n` (1 <= i <= n); None when not given. `1/1` is the whole run."""
    if text is None:
        return None
    found = _SPEC.match(text)
    if not found:
        raise ContourError(f"--shard {text!r}: expected i/n, e.g. 2/3 for the second of three shards")
    index, count = int(found.group(1)), int(found.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ContourError(f"--shard {text!r}: i must be between 1 and n (got i={index}, n={count})")
    return None if count == 1 else Shard(index, count)


def point_rank_key(point: Point) -> str:
    return hashlib.sha256(point.point_id.encode("utf-8")).hexdigest()


def shard_points(points: list[Point], shard: Shard | None) -> list[Point]:
    """The points of `shard`, in their original order (all points for None)."""
    if shard is None:
        return list(points)
    ranked = sorted(range(len(points)), key=lambda i: (point_rank_key(points[i]), i))
    mine = {i for rank, i in enumerate(ranked) if rank % shard.count == shard.index - 1}
    return [p for i, p in enumerate(points) if i in mine]


def shard_mode(mode: dict[str, Any], shard: Shard | None) -> dict[str, Any]:
    """The fingerprint mode of a shard's folder: the run's, plus the shard."""
    return mode if shard is None else {**mode, "shard": str(shard)}
