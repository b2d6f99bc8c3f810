"""The product uses the public APIs of its libraries only: none of the private internals it once leaned on
(Plotly's and MapLibre's insides, a global fetch wrapper, Dash's server set-up, paho's socket reading)
appears anywhere in its own code, and no live state is kept in module globals shared by every app."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWN = ["api", "app.py", "assets", "bench", "brain", "components/district_map/src", "components/district_map/build.mjs",
       "dashboard", "district_map/__init__.py", "geodata", "layers", "tests", "tools"]
FORBIDDEN = {
    "Plotly's private layout": r"_fullLayout|_fullData|\._subplot\b",
    "a patched prototype": r"\.prototype\.[A-Za-z_]+\s*=|Object\.defineProperty\(\s*\w+\.prototype",
    "a global fetch wrapper": r"window\.fetch\s*=|globalThis\.fetch\s*=",
    "MapLibre's private fields": r"_fadeDuration|resolveOnRender|\.style\._layers|_render\(",
    "Dash's private set-up": r"_setup_server|_add_url\(|_inputs_to_vals",
    "paho's private fields": r"_sock_recv|_in_packet|_packet_queue|_last_bytes_received|_msgtime_mutex|\._topic\b",
    "live state in module globals": r"^(SENT|PACE)\s*=",
}


def own_files():
    for entry in OWN:
        path = ROOT / entry
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for f in files:
            if f.suffix in (".py", ".js", ".mjs", ".jsx") and "node_modules" not in f.parts and f != Path(__file__):
                yield f


def test_no_private_internal_of_a_library_is_used_anywhere_in_the_product_or_its_tests():
    found = []
    for f in own_files():
        text = f.read_text(encoding="utf-8")
        for what, pattern in FORBIDDEN.items():
            for m in re.finditer(pattern, text, flags=re.MULTILINE):
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{f.relative_to(ROOT)}:{line}: {what} ({m.group(0)})")
    assert found == []


def test_the_check_finds_what_it_looks_for():
    """Each pattern matches the use it forbids (a check that cannot fail would prove nothing)."""
    samples = {
        "Plotly's private layout": "gd._fullLayout.map._subplot.map",
        "a patched prototype": "Foo.prototype.update = function () {}",
        "a global fetch wrapper": "window.fetch = function (input) {}",
        "MapLibre's private fields": "map._fadeDuration = 0",
        "Dash's private set-up": "dash_app._setup_server()",
        "paho's private fields": "data = super()._sock_recv(1024)",
        "live state in module globals": "SENT = SentCache()",
    }
    assert set(samples) == set(FORBIDDEN)
    for what, sample in samples.items():
        assert re.search(FORBIDDEN[what], sample, flags=re.MULTILINE), what


def test_the_map_component_is_built_from_its_source_in_the_repository():
    """The bundle the app serves is the one `npm run build` makes from components/district_map, and the
    Python class is generated from the component's own prop types (its documented contract)."""
    package = ROOT / "district_map"
    assert (package / "district_map.min.js").stat().st_size > 100_000
    assert (ROOT / "components/district_map/package-lock.json").is_file()
    generated = (package / "DistrictMap.py").read_text(encoding="utf-8")
    source = (ROOT / "components/district_map/src/components/DistrictMap.react.js").read_text(encoding="utf-8")
    for prop in set(re.findall(r"^    (\w+): PropTypes", source, flags=re.MULTILINE)) - {"setProps"}:
        assert f"'{prop}'" in generated or f'"{prop}"' in generated, prop


def test_a_page_never_imports_another_and_the_api_never_imports_the_ui():
    pages = ROOT / "dashboard" / "pages"
    for f in pages.glob("*.py"):
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"^from dashboard\.pages|^from dashboard import pages", text, flags=re.MULTILINE), f.name
    for f in (ROOT / "api").glob("*.py"):
        assert not re.search(r"^from dashboard|^import dashboard", f.read_text(encoding="utf-8"), flags=re.MULTILINE), \
            f.name
