"""Live updates as differences: applying the Patch to what the page had gives exactly the new data."""

import copy
import json

from dash import Patch

from layers.diff import SentCache, write_diff


def apply(figure: dict, patch: Patch) -> dict:
    out = copy.deepcopy(figure)
    for op in patch.to_plotly_json()["operations"]:
        assert op["operation"] in ("Assign", "Extend")
        node = out
        *path, last = op["location"]
        for key in path:
            node = node[key]
        if op["operation"] == "Assign":
            node[last] = op["params"]["value"]
        else:
            node[last] = node[last] + op["params"]["value"]
    return out


def _operations(patch: Patch) -> list[tuple[str, tuple]]:
    return [(op["operation"], tuple(op["location"])) for op in patch.to_plotly_json()["operations"]]


def _staff(n, moved=()):
    d = {"lon": [121.0 + i * 1e-4 for i in range(n)], "lat": [31.0] * n, "marker.color": ["#009E73"] * n,
         "marker.opacity": [1.0] * n, "customdata": [[f"S{i}", "available"] for i in range(n)]}
    for i in moved:
        d["lon"][i] += 0.001
        d["lat"][i] += 0.001
    return d


def _figure(d):
    return {"data": [{}, {"lon": list(d["lon"]), "lat": list(d["lat"]), "customdata": copy.deepcopy(d["customdata"]),
                      "marker": {"color": list(d["marker.color"]), "opacity": list(d["marker.opacity"])}}]}


def _as_figure(d):
    return _figure(d)["data"][1]


def test_ten_moved_of_ten_thousand_send_twenty_edits_and_land_exactly():
    old, new = _staff(10_000), _staff(10_000, moved=range(0, 1000, 100))
    patch = Patch()
    assert write_diff(patch, 1, old, new) == 20
    assert apply(_figure(old), patch)["data"][1] == _as_figure(new)
    diff_bytes = len(json.dumps(patch.to_plotly_json()))
    assert diff_bytes < 0.01 * len(json.dumps(_as_figure(new)))


def test_new_elements_at_the_end_travel_as_themselves_with_the_few_changed_before_them():
    old, new = _staff(8_000), _staff(8_500, moved=[3])
    patch = Patch()
    assert write_diff(patch, 1, old, new) == 2 + 5  # lon[3] and lat[3]; five arrays extended
    assert apply(_figure(old), patch)["data"][1] == _as_figure(new)
    extended = [op for op in patch.to_plotly_json()["operations"] if op["operation"] == "Extend"]
    assert sorted(len(op["params"]["value"]) for op in extended) == [500] * 5
    assert len(json.dumps(patch.to_plotly_json())) < 0.1 * len(json.dumps(_as_figure(new)))


def test_a_shorter_or_mostly_changed_array_is_sent_whole():
    old, new = _staff(12), _staff(10)
    patch = Patch()
    assert write_diff(patch, 1, old, new) == 5
    assert {name for name, _loc in _operations(patch)} == {"Assign"}
    assert apply(_figure(old), patch)["data"][1] == _as_figure(new)
    old, new = _staff(10), _staff(10, moved=range(8))
    patch = Patch()
    assert write_diff(patch, 1, old, new) == 2  # lon and lat whole
    assert apply(_figure(old), patch)["data"][1] == _as_figure(new)


def test_without_the_pages_state_everything_is_sent_and_a_token_serves_a_few_seconds_after_its_first_use():
    new = _staff(5)
    patch = Patch()
    write_diff(patch, 1, None, new)
    assert apply({"data": [{}, {"marker": {}}]}, patch)["data"][1] == _as_figure(new)
    now = [0.0]
    cache = SentCache(size=2, clock=lambda: now[0])
    token = cache.put({"x": 1})
    assert cache.take(token) == {"x": 1}
    now[0] += SentCache.TAKEN_S - 0.5
    assert cache.take(token) == {"x": 1}  # a second request that left the page with it
    now[0] += 1.0
    assert cache.take(token) is None  # too old: that page gets everything
    tokens = [cache.put({"n": i}) for i in range(3)]
    assert cache.take(tokens[0]) is None and cache.take(tokens[2]) == {"n": 2}
    # and what was taken is kept for no more pages than the cache holds
    more = []
    for i in range(3):
        more.append(cache.put({"m": i}))
        assert cache.take(more[-1]) == {"m": i}
    assert cache.take(more[0]) is None and cache.take(more[2]) == {"m": 2}
