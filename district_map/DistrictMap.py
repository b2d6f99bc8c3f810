# AUTO GENERATED FILE - DO NOT EDIT

import typing  # noqa: F401
from typing_extensions import TypedDict, NotRequired, Literal # noqa: F401
from dash.development.base_component import Component, _explicitize_args
try:
    from dash.types import NumberType  # noqa: F401
except ImportError:
    # Backwards compatibility for dash<=4.1.0
    if typing.TYPE_CHECKING:
        raise
    NumberType = typing.Union[  # noqa: F401
        typing.SupportsFloat, typing.SupportsInt, typing.SupportsComplex
    ]

ComponentSingleType = typing.Union[str, int, float, Component, None]
ComponentType = typing.Union[
    ComponentSingleType,
    typing.Sequence[ComponentSingleType],
]


class DistrictMap(Component):
    """A DistrictMap component.
The district map of Community Brain.

Takes the static geography once (`geography`) and the live layers as versioned deltas (`deltas`),
applied in order; keeps the operator's view (zoom, pan, hidden layers) across updates, and moves it
only when `view` changes its `key`. Raises clicks (`clickData`) and hovers (`hoverData`) on the live
layers and poles, and reports the versions it holds (`versions`). Nothing is fetched from any host: the
style has no tile, sprite or glyph server; text is drawn with the fonts of the computer it runs on.

The live layers are drawn on a 2D canvas of the component's own laid over the map's (`LiveCanvas` and
`LivePoints`, points.js): a delta is copied into a packed array and drawn at the next frame, with nothing
tiled or sent to a worker.

For automation and tests, `window.districtMaps[id]` holds `{map, versions(), count(layer),
features(layer), drawn(layer), shown(layer), still(), listen(kind, fn)}`: the MapLibre map (its public
API), the versions and features each live layer holds, what a live layer draws inside the view (`{id, x, y,
radius, ring, colour, opacity}`, CSS px), whether a layer group is shown, whether the map has loaded and
stands still, and listeners: `applied` ({layer, features, at}) when a delta is taken, `drawn` ({layers,
at}) after the first frame that shows a live layer's update.

Keyword arguments:

- id (string; required):
    The id of this component in Dash callbacks.

- className (string; optional):
    CSS classes of the map's container.

- clickData (dict; optional):
    Set by the map on a click: `{layer, id, lon, lat, number, n}`
    (`layer` None: the map itself).

- deltas (list of dicts; optional):
    The live layers' changes, applied in order. Each is `{layer,
    version, reset, upsert, remove}`: the layer (cases, alarms or
    staff), the version it brings the layer to, whether it replaces
    the layer (`reset`: `upsert` is then the whole layer), the
    features added or replaced by id, and the ids removed. A feature
    is `{id, lon, lat, colour, size, ring, opacity, label, tip}`. A
    delta whose version is not newer than the layer's is ignored; a
    delta that is not a reset and does not follow the version held is
    ignored too, and `versions` then tells the app what the map holds
    (it answers with a reset).

    `deltas` is a list of dicts with keys:

    - layer (a value equal to: 'cases', 'alarms', 'staff'; optional)

    - version (number; optional)

    - base (number; optional)

    - reset (boolean; optional)

    - upsert (list of dicts; optional)

    - remove (list of string | numbers; optional)

- font_family (string; default 'sans-serif'):
    The local font family text is drawn in (nothing is fetched for
    text).

- geography (dict; required):
    The static geography, sent once: `bounds` [min lon, min lat, max
    lon, max lat] (the map opens fitted to it) and `layers`, GeoJSON
    FeatureCollections by name: boundary, committees, grid, roads,
    compounds, buildings (polygons and lines; `name` labels them),
    committee_labels (points, `name`), poles (points, `number`). A
    layer that is absent is not drawn.

    `geography` is a dict with keys:

    - bounds (list of numbers; optional)

    - layers (dict; optional)

- hidden (list of strings; optional):
    Layer groups not drawn (boundary, committees, grid, roads,
    compounds, buildings, poles, cases, alarms, staff).

- hoverData (dict; optional):
    Set by the map when the pointer comes onto a feature: `{layer,
    id}`.

- links (list of list of numberss; optional):
    Lines from a case to the people recommended for it: [case lon,
    case lat, person lon, person lat].

- padding (dict; optional):
    Pixels (at 1080p; more on a larger map) kept clear on each side
    when the map fits the district or several alarms: `{top, right,
    bottom, left}`, for what lies over the map (its legend).

- palette (dict; required):
    The colours of the map by what they mean (the legend is generated
    from the same table by the app): background, boundary, committee,
    grid, road, road_text, compound, building, pole, text, halo, link.

- trail (dict; optional):
    A case's history drawn over the live layers, or None: a GeoJSON
    FeatureCollection of the path a person walked to it (LineString,
    `kind` \"path\") and points (`kind` \"reported\": where it was
    reported, drawn as a ring; \"arrived\": where the person arrived,
    a dot), all in the palette's `trail` colour.

- versions (dict; optional):
    Set by the map: the version of each live layer it holds.

- view (dict; optional):
    Where to move the view: `{key, center: [lon, lat], zoom}` or
    `{key, bounds, max_zoom}`; applied when `key` changes, so the
    operator's own view is kept otherwise. Zooms are a 1080p wall's: a
    larger map goes log2 of its scale further in, to show the same
    streets. With `settle_ms`, the move waits until no newer view has
    come for that long (a newer one replaces it)."""
    _children_props: typing.List[str] = []
    _base_nodes = ['children']
    _namespace = 'district_map'
    _type = 'DistrictMap'
    Geography = TypedDict(
        "Geography",
            {
            "bounds": NotRequired[typing.Sequence[NumberType]],
            "layers": NotRequired[dict]
        }
    )

    Deltas = TypedDict(
        "Deltas",
            {
            "layer": NotRequired[Literal["cases", "alarms", "staff"]],
            "version": NotRequired[NumberType],
            "base": NotRequired[NumberType],
            "reset": NotRequired[bool],
            "upsert": NotRequired[typing.Sequence[dict]],
            "remove": NotRequired[typing.Sequence[typing.Union[str, NumberType]]]
        }
    )


    def __init__(
        self,
        id: typing.Optional[typing.Union[str, dict]] = None,
        geography: typing.Optional["Geography"] = None,
        palette: typing.Optional[dict] = None,
        deltas: typing.Optional[typing.Sequence["Deltas"]] = None,
        view: typing.Optional[dict] = None,
        padding: typing.Optional[dict] = None,
        links: typing.Optional[typing.Sequence[typing.Sequence[NumberType]]] = None,
        trail: typing.Optional[dict] = None,
        hidden: typing.Optional[typing.Sequence[str]] = None,
        font_family: typing.Optional[str] = None,
        versions: typing.Optional[dict] = None,
        clickData: typing.Optional[dict] = None,
        hoverData: typing.Optional[dict] = None,
        className: typing.Optional[str] = None,
        style: typing.Optional[typing.Any] = None,
        **kwargs
    ):
        self._prop_names = ['id', 'className', 'clickData', 'deltas', 'font_family', 'geography', 'hidden', 'hoverData', 'links', 'padding', 'palette', 'style', 'trail', 'versions', 'view']
        self._valid_wildcard_attributes =            []
        self.available_properties = ['id', 'className', 'clickData', 'deltas', 'font_family', 'geography', 'hidden', 'hoverData', 'links', 'padding', 'palette', 'style', 'trail', 'versions', 'view']
        self.available_wildcard_properties =            []
        _explicit_args = kwargs.pop('_explicit_args')
        _locals = locals()
        _locals.update(kwargs)  # For wildcard attrs and excess named props
        args = {k: _locals[k] for k in _explicit_args}

        for k in ['id', 'geography', 'palette']:
            if k not in args:
                raise TypeError(
                    'Required argument `' + k + '` was not specified.')

        super(DistrictMap, self).__init__(**args)

setattr(DistrictMap, "__init__", _explicitize_args(DistrictMap.__init__))
