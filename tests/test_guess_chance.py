"""guess_chance is the success rate of the best blind (constant) answer.

Checked per task against a brute-force count: many independent draws of the
point, the most frequent normalised target, its share. The generator's
value comes from its own seeded, cross-fitted simulation (or a closed form,
or 1 / options for uniformly placed options), so the two agree within their
sampling errors.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path

import pytest

from contour.spec import chance
from contour.spec.config import load_config
from contour.spec.generation import generate_test
from contour.spec.manifold import resolve_entry
from contour.tasks import get_task, task_names

FULL = Path(__file__).resolve().parent.parent / "configs" / "full.yaml"
DRAWS = 3000


def brute_force_rate(name: str, params: dict, draws: int = DRAWS) -> float:
    task = get_task(name)
    counts: Counter[str] = Counter()
    for k in range(draws):
        test = task.generate(random.Random(10 ** 9 + k), dict(params))
        counts[task.normalize(test.target, test)] += 1
    return counts.most_common(1)[0][1] / draws


def points(name: str) -> list[dict]:
    entry = next(e for e in load_config(FULL).tasks if e.name == name)
    return [resolve_entry(entry, 0, "normal")[0].params, resolve_entry(entry, 2, "normal")[-1].params]


@pytest.mark.parametrize("name", task_names())
def test_guess_chance_matches_a_brute_force_count(name):
    task = get_task(name)
    for params in points(name):
        expected = brute_force_rate(name, params)
        got = generate_test(task, 0, params, 0).guess_chance
        # Both are estimates: 4 standard errors of their difference, plus
        # the cross-fitted estimate's small downward bias where modes tie.
        se = math.sqrt(max(expected * (1 - expected), 0.01) * (1 / DRAWS + 1 / (2 * chance._FULL_HALF)))
        assert abs(got - expected) <= 4 * se + 0.01, (params, got, expected)


def test_write_in_answers_have_a_best_guess_above_zero():
    # The finding: small write-in spaces used to record 0.
    for name, params in [("letters", {"words": 1, "word_length": "short", "letters": 1}),
                         ("objects", {"items": 2, "max_quantity": 2, "distractors": 0.0}),
                         ("brackets", {"open": 1, "pairs": 2, "types": 2})]:
        task = get_task(name)
        params = task.schema.validate(name, params)
        g = generate_test(task, 0, params, 0).guess_chance
        assert g >= 0.15, (name, g)
        assert g == pytest.approx(brute_force_rate(name, params), abs=0.05)


def test_cars_best_guess_beats_one_over_cars():
    task = get_task("cars")
    # Relative moves of at most three cars drift toward the middle of a long row.
    params = task.schema.validate("cars", {"cars": 6, "moves": 4, "commands": "relative",
                                           "people": 1})
    g = generate_test(task, 0, params, 0).guess_chance
    assert g > 1 / 6 + 0.025
    assert g == pytest.approx(brute_force_rate("cars", params), abs=0.04)


def test_brackets_closed_form():
    task = get_task("brackets")
    for open_, types in [(1, 2), (2, 2), (1, 4), (3, 3)]:
        params = task.schema.validate("brackets", {"open": open_, "pairs": 3, "types": types})
        assert generate_test(task, 0, params, 0).guess_chance == types ** -open_
        assert brute_force_rate("brackets", params, 2000) == pytest.approx(types ** -open_, abs=0.04)


def test_cross_fitted_rate_is_not_inflated_by_noise():
    # 400 equally likely answers: the plug-in maximum of 512 draws is about
    # 5/512, the cross-fitted rate near the true 1/400.
    rng = random.Random(1)
    a = [str(rng.randrange(400)) for _ in range(256)]
    b = [str(rng.randrange(400)) for _ in range(256)]
    assert chance.cross_fitted_mode_rate(a, b) < 0.01
    assert max(Counter(a + b).values()) / 512 > 0.005
    assert chance.cross_fitted_mode_rate(["x"] * 10, ["x"] * 9 + ["y"]) == pytest.approx(0.95)


# -- the memo on disk ------------------------------------------------------------

def _one_point():
    task = get_task("arithmetic")
    return task, points("arithmetic")[1]


def test_the_disk_memo_gives_the_simulated_value_and_skips_the_simulation(tmp_path, monkeypatch):
    task, params = _one_point()
    key = f"{task.name}|{task.version}|{chance.point_json(params)}"
    simulated = chance._simulate(type(task), task.name, task.version, chance.point_json(params))
    first = chance._DiskMemo(tmp_path / "memo.sqlite")
    assert first.get(key) is None
    first.put(key, simulated)
    again = chance._DiskMemo(tmp_path / "memo.sqlite")     # another process, later
    assert again.get(key) == simulated
    # The module's path: served from disk, the simulation is not run again.
    monkeypatch.setattr(chance, "_DISK", again)
    monkeypatch.setattr(chance, "_simulate", lambda *a: pytest.fail("simulated again"))
    chance._simulated.cache_clear()
    try:
        assert chance.guess_chance(task, params, generate_test(task, 0, params, 0)) == simulated
    finally:
        chance._simulated.cache_clear()


def test_the_memo_is_keyed_by_the_code_that_decides_the_rates(tmp_path, monkeypatch):
    memo = chance._DiskMemo(tmp_path / "memo.sqlite")
    memo.put("k", 0.5)      # not opened yet: ignored
    assert memo.get("k") is None
    memo.put("k", 0.5)
    assert memo.get("k") == 0.5
    monkeypatch.setattr(chance, "_code_digest", lambda: "another-generator")
    assert chance._DiskMemo(tmp_path / "memo.sqlite").get("k") is None


@pytest.mark.parametrize("damage", ["random bytes", "a directory", "a file as its folder"])
def test_a_memo_that_cannot_be_used_is_ignored(tmp_path, damage):
    path = tmp_path / "memo.sqlite"
    if damage == "random bytes":
        path.write_bytes(bytes(range(256)) * 8)
    elif damage == "a directory":
        path.mkdir()
    else:
        (tmp_path / "home").write_text("a file where $CONTOUR_HOME should be")
        path = tmp_path / "home" / "memo.sqlite"
    memo = chance._DiskMemo(path)
    assert memo.get("k") is None
    memo.put("k", 0.25)     # no error, whatever the file
    if damage == "random bytes":
        assert path.read_bytes() == bytes(range(256)) * 8    # someone else's file stays as it was
