from hypothesis import given, settings
from hypothesis import strategies as st

from contour.spec.config import Axis, parse_config
from contour.spec.generation import example_tests, generate_test
from contour.spec.manifold import DENSITIES, resolve_grid, thin
from contour.spec.seeding import coordinate_key
from contour.tasks import get_task

axes = st.integers(1, 12).flatmap(lambda n: st.tuples(
    st.just(tuple(range(n))), st.integers(1, n), st.integers(1, 5)))


@settings(max_examples=300, deadline=None)
@given(axes, st.integers(0, 8))
def test_density_nesting_and_ends(axis, degree):
    values, window, stride = axis
    span = Axis("a", values, window, stride).at_degree(degree)
    normal, lowdef, corner = (thin(span, d) for d in DENSITIES)
    assert set(corner) <= set(lowdef) <= set(normal) == set(span)
    for kept in (normal, lowdef, corner):
        assert kept[0] == span[0] and kept[-1] == span[-1]
        assert list(kept) == sorted(kept)      # order (easiest first) is preserved
    assert len(span) == window


@settings(max_examples=300, deadline=None)
@given(axes, st.integers(0, 8))
def test_higher_degree_never_easier(axis, degree):
    values, window, stride = axis
    a = Axis("a", values, window, stride)
    lower, higher = a.at_degree(degree), a.at_degree(degree + 1)
    assert higher[0] >= lower[0] and higher[-1] >= lower[-1]


def test_worked_example_from_docs():
    # docs/manifolds.md walks through exactly this config.
    config = parse_config({
        "precision": {"low": {"count": 4}},
        "tasks": [{"name": "arithmetic", "params": {"ops": "+-*"},
                   "manifold": {"length": {"values": [2, 3, 4, 6, 8, 12, 16], "window": 4, "stride": 2},
                                "depth": [0, 1, 2]}}],
    }, "example.yaml")
    grid = lambda degree, density: sorted((p.axes["length"], p.axes["depth"])
                                          for p in resolve_grid(config, degree, density))
    assert len(grid(0, "normal")) == 12
    assert {l for l, _ in grid(0, "normal")} == {2, 3, 4, 6}
    assert {l for l, _ in grid(1, "normal")} == {4, 6, 8, 12}
    assert {l for l, _ in grid(2, "normal")} == {8, 12, 16} | {6}
    assert {l for l, _ in grid(5, "normal")} == {6, 8, 12, 16}
    assert grid(1, "lowdef") == [(l, d) for l in (4, 8, 12) for d in (0, 2)]
    assert grid(1, "corner") == [(4, 0), (4, 2), (12, 0), (12, 2)]


def test_test_is_a_pure_function_of_its_coordinates():
    task = get_task("arithmetic")
    params = task.schema.validate("arithmetic", {"length": 5})
    assert generate_test(task, 3, params, 7) == generate_test(task, 3, params, 7)
    assert generate_test(task, 3, params, 7) == generate_test(task, 3, {**params, "count": 99}, 7)
    assert generate_test(task, 3, params, 7) != generate_test(task, 4, params, 7)
    assert generate_test(task, 3, params, 7) != generate_test(task, 3, params, 8)
    # No seed+index aliasing: (seed 100, index 1) differs from (seed 101, index 0).
    assert coordinate_key("sample", 100, "t", 1, {}, 1) != coordinate_key("sample", 101, "t", 1, {}, 0)
    assert generate_test(task, 100, params, 1) != generate_test(task, 101, params, 0)


def test_multishot_examples_are_fixed_and_never_the_test():
    task = get_task("arithmetic")
    params = task.schema.validate("arithmetic", {"length": 2, "digits": 1, "depth": 0, "ops": "+-"})
    tests = [generate_test(task, 0, params, i) for i in range(200)]
    for t in tests:
        shots = example_tests(task, params, 3, avoid=t)
        assert len(shots) == 3 and all(s.input != t.input for s in shots)
    first = example_tests(task, params, 3, avoid=tests[0])
    assert example_tests(task, params, 3, avoid=tests[0]) == first
