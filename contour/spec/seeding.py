"""Coordinate seeding: a test is a pure function of its coordinates.

The random stream of a sample is derived from a SHA-256 of
(namespace, global seed, task name, task version, point parameters without
`count`, sample index), so it is identical on every machine and Python
version, independent of `count` (count-invariance), and free of the
`seed + index` aliasing where seed 100 item 1 equals seed 101 item 0.
"""

from __future__ import annotations

import hashlib
import json
import random
from functools import lru_cache
from typing import Any, Callable, Mapping

SAMPLE = "sample"
EXAMPLE = "example"


def coordinate_key(namespace: str, seed: int, task: str, version: int,
                   params: Mapping[str, Any], index: int) -> str:
    if type(index) is not int:
        point = {k: v for k, v in params.items() if k != "count"}
        return json.dumps([namespace, seed, task, version, point, index],
                          sort_keys=True, separators=(",", ":"))
    # The same text, from the point's JSON made once (json.dumps of a list is
    # its elements' JSON joined by ","; sort_keys applies inside each).
    return f"{_key_head(namespace, seed, task, version)}{point_json(params)},{index}]"


@lru_cache(maxsize=256, typed=True)     # typed: a seed of True is not the seed 1
def _key_head(namespace: str, seed: int, task: str, version: int) -> str:
    return f"[{json.dumps(namespace)},{json.dumps(seed)},{json.dumps(task)},{json.dumps(version)},"


_SCALARS = frozenset({str, int, bool, type(None)})


def point_json(params: Mapping[str, Any]) -> str:
    """The point's parameters without `count`, as compact JSON with sorted keys.

    Asked for several times per sample with the same few points, so it is
    memoised on the parameters' values and their types (True and 1 are equal
    keys but different JSON); parameters holding floats (0.0 and -0.0 are
    equal too), lists or dicts are encoded each time."""
    types = tuple(map(type, params.values()))
    if _SCALARS.issuperset(types):
        return _point_json(tuple(params.items()), types)
    return _encode_point(dict(params))


@lru_cache(maxsize=4096)     # `types` is only part of the key (True and 1 hash alike)
def _point_json(items: tuple[tuple[str, Any], ...], types: tuple[type, ...]) -> str:
    return _encode_point(dict(items))


def _encode_point(params: dict[str, Any]) -> str:
    point = {k: v for k, v in params.items() if k != "count"}
    return json.dumps(point, sort_keys=True, separators=(",", ":"))


def coordinate_rng(namespace: str, seed: int, task: str, version: int,
                   params: Mapping[str, Any], index: int) -> random.Random:
    return _rng(coordinate_key(namespace, seed, task, version, params, index))


def coordinate_rngs(namespace: str, seed: int, task: str, version: int,
                    params: Mapping[str, Any]) -> Callable[[int], random.Random]:
    """`coordinate_rng` of one point for any index: the key's JSON up to the
    index is built once (a point's simulation or samples ask for hundreds)."""
    point = {k: v for k, v in params.items() if k != "count"}
    # The list's JSON without its last element: "[...," then the index and "]".
    head = json.dumps([namespace, seed, task, version, point], sort_keys=True,
                      separators=(",", ":"))[:-1] + ","

    def rng(index: int) -> random.Random:
        if type(index) is not int:
            raise TypeError(f"a coordinate index is an int, got {type(index).__name__}")
        return _rng(f"{head}{index}]")
    return rng


def _rng(key: str) -> random.Random:
    digest = hashlib.sha256(key.encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))
