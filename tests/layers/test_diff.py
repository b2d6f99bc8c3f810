"""Live updates as differences: applying the Patch to what the page had gives exactly the new data."""

import copy
import json

from dash import Patch

from layers.diff import SentCache, write_diff


def apply(figure: dict, patch: Patch) -> dict:
    out = copy.deepcopy(figure)
    for op in patch.to_plotly_json()["operations"]:
        assert op["operation"] == "Assign"
        node = out
        *path, last = op["location"]
        for key in path:
            node = node[key]
        node[last] = op["params"]["value"]
    return out


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


def test_a_changed_length_or_mostly_changed_array_is_sent_whole():
    old, new = _staff(10), _staff(12)
    patch = Patch()
    write_diff(patch, 1, old, new)
    assert apply(_figure(old), patch)["data"][1] == _as_figure(new)
    old, new = _staff(10), _staff(10, moved=range(8))
    patch = Patch()
    assert write_diff(patch, 1, old, new) == 2  # lon and lat whole
    assert apply(_figure(old), patch)["data"][1] == _as_figure(new)


def test_without_the_pages_state_everything_is_sent_and_a_token_serves_once():
    new = _staff(5)
    patch = Patch()
    write_diff(patch, 1, None, new)
    assert apply({"data": [{}, {"marker": {}}]}, patch)["data"][1] == _as_figure(new)
    cache = SentCache(size=2)
    token = cache.put({"x": 1})
    assert cache.take(token) == {"x": 1} and cache.take(token) is None
    tokens = [cache.put({"n": i}) for i in range(3)]
    assert cache.take(tokens[0]) is None and cache.take(tokens[2]) == {"n": 2}
