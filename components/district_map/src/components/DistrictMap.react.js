import React, {Component} from 'react';
import PropTypes from 'prop-types';
import {Map as MapLibreMap, MercatorCoordinate, Popup, LngLatBounds, setWorkerUrl} from 'maplibre-gl';
import {applyDelta, emptyCollection, emptyLayer} from '../delta';
import {LiveCanvas, LivePoints} from '../points';
import {staticLayers, trailLayers, LIVE, scaledPaint, ZOOMS, zoomRange} from '../style';

// Where this bundle was served from: MapLibre's worker is served beside it by the same app.
const SCRIPT = typeof document !== 'undefined' && document.currentScript ? document.currentScript.src : '';
if (SCRIPT) {
    setWorkerUrl(new URL('maplibre-gl-worker.mjs', SCRIPT).href);
}

const WALL_W = 1700;
const WALL_H = 850; // the map area of a 1920x1080 wall: sizes are given for it and grow with a larger map

/** How much larger than a 1080p wall's map this map is (min of the two ratios), between 1 and 4. */
export function scaleOf(width, height) {
    const k = Math.min(width / WALL_W, height / WALL_H);
    return Number.isFinite(k) ? Math.min(Math.max(k, 1), 4) : 1;
}

/**
 * The district map of Community Brain.
 *
 * Takes the static geography once (`geography`) and the live layers as versioned deltas (`deltas`),
 * applied in order; keeps the operator's view (zoom, pan, hidden layers) across updates, and moves it
 * only when `view` changes its `key`. Raises clicks (`clickData`) and hovers (`hoverData`) on the live
 * layers and poles, and reports the versions it holds (`versions`). Nothing is fetched from any host: the
 * style has no tile, sprite or glyph server; text is drawn with the fonts of the computer it runs on.
 *
 * The live layers are drawn on a 2D canvas of the component's own laid over the map's (`LiveCanvas` and
 * `LivePoints`, points.js): a delta is copied into a packed array and drawn at the next frame, with nothing
 * tiled or sent to a worker.
 *
 * For automation and tests, `window.districtMaps[id]` holds `{map, versions(), count(layer),
 * features(layer), drawn(layer), shown(layer), still(), listen(kind, fn)}`: the MapLibre map (its public
 * API), the versions and features each live layer holds, what a live layer draws inside the view (`{id, x, y,
 * radius, ring, colour, opacity}`, CSS px), whether a layer group is shown, whether the map has loaded and
 * stands still, and listeners: `applied` ({layer, features, at}) when a delta is taken, `drawn` ({layers,
 * at}) after the first frame that shows a live layer's update.
 */
export default class DistrictMap extends Component {
    constructor(props) {
        super(props);
        this.container = React.createRef();
        this.layers = {}; // live layer -> {version, features: Map(id -> feature)}
        for (const name of LIVE) {
            this.layers[name] = emptyLayer();
        }
        const bounds = props.geography && props.geography.bounds;
        const origin = bounds ? [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2] : (props.view && props.view.center);
        const o = MercatorCoordinate.fromLngLat(origin || [0, 0]);
        this.points = {}; // live layer -> its points (drawn on the live canvas once the map has loaded)
        for (const name of LIVE) {
            this.points[name] = new LivePoints(name, [o.x, o.y]);
        }
        this.listeners = {applied: [], drawn: []};
        this.hovered = null;
        this.scale = 1;
    }

    componentDidMount() {
        const {geography, view} = this.props;
        const el = this.container.current;
        this.scale = scaleOf(el.clientWidth, el.clientHeight);
        const bounds = geography && geography.bounds;
        this.map = new MapLibreMap({
            container: el,
            style: this.style(),
            bounds: bounds ? [[bounds[0], bounds[1]], [bounds[2], bounds[3]]] : undefined,
            fitBoundsOptions: {padding: this.padding()},
            center: !bounds && view && view.center ? view.center : undefined,
            zoom: !bounds && view && view.zoom ? view.zoom : undefined,
            attributionControl: false,
            fadeDuration: 0,
            maxPitch: 0,
            dragRotate: false,
            localIdeographFontFamily: this.props.font_family,
        });
        this.map.touchZoomRotate.disableRotation();
        this.wanted = view && view.key ? view : null;
        this.map.on('load', () => {
            this.ready = true;
            this.live = new LiveCanvas(this.map, LIVE.map((name) => this.points[name]), this.props.palette,
                (layers) => this.shown(layers));
            this.live.scale = this.scale;
            this.showHidden();
            if (this.wanted) {
                this.move(this.wanted);
            }
        });
        this.map.on('click', (e) => this.click(e));
        this.map.on('mousemove', (e) => this.hover(e));
        this.map.on('mouseout', () => this.unhover());
        this.resizer = new ResizeObserver(() => this.resized());
        this.resizer.observe(el);
        window.districtMaps = window.districtMaps || {};
        window.districtMaps[this.props.id] = {
            map: this.map,
            versions: () => this.versions(),
            count: (layer) => (this.layers[layer] ? this.layers[layer].features.size : 0),
            features: (layer) => (this.layers[layer] ? Array.from(this.layers[layer].features.values()) : []),
            drawn: (layer) => (this.points[layer] && this.ready ? this.points[layer].drawn(this.map) : []),
            shown: (group) => !new Set(this.props.hidden || []).has(group),
            still: () => this.ready && !this.map.isMoving() && !this.map.isZooming() && this.map.loaded(),
            listen: (kind, fn) => this.listeners[kind].push(fn),
        };
        this.receive(this.props.deltas, true);
    }

    /** The map draws itself: React never renders its container again; new props are applied here. */
    shouldComponentUpdate(next) {
        const prev = this.props;
        if (next.deltas !== prev.deltas) {
            this.receive(next.deltas, false, next);
        }
        if (next.view && next.view.key && (!prev.view || next.view.key !== prev.view.key)) {
            this.wanted = next.view;
            if (this.ready) {
                this.settle(next.view);
            }
        }
        if (next.links !== prev.links && this.ready) {
            this.map.getSource('links').setData(this.linkData(next.links));
        }
        if (next.trail !== prev.trail && this.ready) {
            this.map.getSource('trail').setData(next.trail || emptyCollection());
        }
        if (next.hidden !== prev.hidden && this.ready) {
            this.showHidden(next.hidden);
        }
        return false;
    }

    componentWillUnmount() {
        clearTimeout(this.settling);
        if (this.resizer) {
            this.resizer.disconnect();
        }
        if (window.districtMaps && window.districtMaps[this.props.id]) {
            delete window.districtMaps[this.props.id];
        }
        if (this.live) {
            this.live.remove();
        }
        if (this.map) {
            this.map.remove();
        }
    }

    versions() {
        const out = {};
        for (const name of LIVE) {
            out[name] = this.layers[name].version;
        }
        return out;
    }

    /** Apply the deltas of a new `deltas` prop in order; tell Dash the versions now held. */
    receive(deltas, first, props = this.props) {
        if (!Array.isArray(deltas) || deltas.length === 0) {
            return;
        }
        let changed = false;
        const at = Date.now();
        for (const delta of deltas) {
            const layer = this.layers[delta && delta.layer];
            if (!layer) {
                continue;
            }
            const diff = applyDelta(layer, delta);
            if (diff) {
                changed = true;
                const points = this.points[delta.layer];
                if (diff.reset) {
                    points.reset(layer.features);
                } else {
                    points.update(diff.ids, layer.features);
                }
                if (points.dirty) {
                    points.changed();
                }
                for (const fn of this.listeners.applied) {
                    fn({layer: delta.layer, features: delta.upsert || [], at});
                }
            }
        }
        if (changed || first) {
            if (props.setProps) {
                props.setProps({versions: this.versions()});
            }
        }
    }

    /** After a frame that shows a live layer's update: tell the listeners (automation, benchmarks). */
    shown(layers) {
        const at = Date.now();
        for (const fn of this.listeners.drawn) {
            fn({layers, at});
        }
    }

    style() {
        const {geography, palette} = this.props;
        const g = (geography && geography.layers) || {};
        const sources = {};
        for (const name of Object.keys(g)) {
            sources[name] = {type: 'geojson', data: g[name], cluster: name === 'poles' && (g[name].features || []).length > 20000,
                clusterMaxZoom: 15, clusterRadius: 40};
        }
        sources.links = {type: 'geojson', data: this.linkData()};
        sources.trail = {type: 'geojson', data: this.props.trail || emptyCollection()};
        return {
            version: 8,
            name: 'community-brain',
            sources,
            layers: [
                {id: 'background', type: 'background', paint: {'background-color': palette.background}},
                ...staticLayers(g, palette, this.scale, this.props.font_family),
                {id: 'links', type: 'line', source: 'links', paint: {'line-color': palette.link, 'line-width': 3 * this.scale}},
                ...trailLayers(palette, this.scale),
            ],
        };
    }

    linkData(given) {
        const links = given || this.props.links || [];
        return {type: 'FeatureCollection', features: links.map((s, i) => ({type: 'Feature', id: i,
            properties: {}, geometry: {type: 'LineString', coordinates: [[s[0], s[1]], [s[2], s[3]]]}}))};
    }

    /** The room kept clear around what is fitted (what lies over the map, such as its legend), at this scale. */
    padding(extra = 0) {
        const p = this.props.padding || {};
        const side = (name) => ((p[name] || 0) + 24 + extra) * this.scale;
        return {top: side('top'), right: side('right'), bottom: side('bottom'), left: side('left')};
    }

    /**
     * Move to a view now, or, when it says `settle_ms`, once no newer view has come for that long: a burst of
     * moves (the first alarm of a storm, then all of them) is one move, and the new points are drawn first.
     */
    settle(view) {
        clearTimeout(this.settling);
        this.settling = null;
        if (view.settle_ms > 0) {
            this.settling = setTimeout(() => {
                this.settling = null;
                this.move(view);
            }, view.settle_ms);
        } else {
            this.move(view);
        }
    }

    /** Zooms are given for a 1080p wall's map: a larger map goes log2(scale) further in to show as much. */
    move(view) {
        const shift = Math.log2(this.scale);
        if (view.bounds) {
            const b = view.bounds;
            this.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], {padding: this.padding(24),
                maxZoom: (view.max_zoom || 17) + shift, duration: 0});
        } else if (view.center) {
            this.map.jumpTo({center: view.center, zoom: view.zoom + shift});
        }
    }

    resized() {
        const el = this.container.current;
        if (!this.map || !el) {
            return;
        }
        this.map.resize();
        const k = scaleOf(el.clientWidth, el.clientHeight);
        if (Math.abs(k - this.scale) > 0.01 && this.ready) {
            this.scale = k;
            this.live.scale = k;
            this.live.changed();
            for (const id of Object.keys(ZOOMS)) {
                if (this.map.getLayer(id)) {
                    const [lo, hi] = zoomRange(id, k);
                    this.map.setLayerZoomRange(id, lo, hi);
                }
            }
            for (const [layer, prop, value] of scaledPaint(this.props.palette, k)) {
                if (this.map.getLayer(layer)) {
                    if (prop.startsWith('text-')) {
                        this.map.setLayoutProperty(layer, prop, value);
                    } else {
                        this.map.setPaintProperty(layer, prop, value);
                    }
                }
            }
        }
    }

    showHidden(given) {
        const hidden = new Set(given || this.props.hidden || []);
        for (const name of LIVE) {
            this.points[name].show(!hidden.has(name));
        }
        for (const layer of this.map.getStyle().layers) {
            const group = layer.metadata && layer.metadata.group;
            if (group) {
                this.map.setLayoutProperty(layer.id, 'visibility', hidden.has(group) ? 'none' : 'visible');
            }
        }
    }

    /**
     * What lies under the pointer: a live feature (alarms over staff over cases, as drawn) or a pole,
     * as `{group, id, number}`; null when nothing is.
     */
    pick(point) {
        const r = 6 * this.scale;
        for (const name of LIVE.slice().reverse()) {
            const id = this.points[name].pick(this.map, point, r);
            if (id !== null) {
                return {group: name, id, number: null};
            }
        }
        if (!this.map.getLayer('poles-points')) {
            return null;
        }
        const found = this.map.queryRenderedFeatures([[point.x - r, point.y - r], [point.x + r, point.y + r]],
            {layers: ['poles-points']});
        return found.length ? {group: 'poles', id: found[0].properties.id, number: found[0].properties.number || null}
            : null;
    }

    click(e) {
        const f = this.pick(e.point);
        const at = {lon: e.lngLat.lng, lat: e.lngLat.lat};
        const data = f ? {layer: f.group, id: f.id, ...at, number: f.number} : {layer: null, id: null, ...at, number: null};
        if (this.props.setProps) {
            this.props.setProps({clickData: {...data, n: ((this.props.clickData || {}).n || 0) + 1}});
        }
    }

    hover(e) {
        const f = this.pick(e.point);
        const key = f ? `${f.group}:${f.id}` : null;
        if (key === this.hovered) {
            if (this.popup && f) {
                this.popup.setLngLat(e.lngLat);
            }
            return;
        }
        this.unhover();
        if (!f) {
            return;
        }
        this.hovered = key;
        this.map.getCanvas().style.cursor = 'pointer';
        const held = this.layers[f.group] && this.layers[f.group].features.get(f.id);
        const text = held ? held.tip || '' : f.number || '';
        this.popup = new Popup({closeButton: false, closeOnClick: false, className: 'district-map-tip',
            maxWidth: `${24 * this.scale}em`, offset: 12}).setLngLat(e.lngLat).setText(text).addTo(this.map);
        if (this.props.setProps) {
            this.props.setProps({hoverData: {layer: f.group, id: f.id}});
        }
    }

    unhover() {
        this.hovered = null;
        if (this.popup) {
            this.popup.remove();
            this.popup = null;
        }
        if (this.map) {
            this.map.getCanvas().style.cursor = '';
        }
    }

    render() {
        return <div id={this.props.id} ref={this.container} className={this.props.className}
            style={this.props.style} data-map="district" />;
    }
}

DistrictMap.defaultProps = {
    deltas: [],
    links: [],
    trail: null,
    hidden: [],
    font_family: 'sans-serif',
};

DistrictMap.propTypes = {
    /** The id of this component in Dash callbacks. */
    id: PropTypes.string.isRequired,
    /**
     * The static geography, sent once: `bounds` [min lon, min lat, max lon, max lat] (the map opens fitted
     * to it) and `layers`, GeoJSON FeatureCollections by name: boundary, committees, grid, roads, compounds,
     * buildings (polygons and lines; `name` labels them), committee_labels (points, `name`), poles (points,
     * `number`). A layer that is absent is not drawn.
     */
    geography: PropTypes.shape({
        bounds: PropTypes.arrayOf(PropTypes.number),
        layers: PropTypes.object,
    }).isRequired,
    /**
     * The colours of the map by what they mean (the legend is generated from the same table by the app):
     * background, boundary, committee, grid, road, road_text, compound, building, pole, text, halo, link.
     */
    palette: PropTypes.object.isRequired,
    /**
     * The live layers' changes, applied in order. Each is `{layer, version, reset, upsert, remove}`: the
     * layer (cases, alarms or staff), the version it brings the layer to, whether it replaces the layer
     * (`reset`: `upsert` is then the whole layer), the features added or replaced by id, and the ids removed.
     * A feature is `{id, lon, lat, colour, size, ring, opacity, label, tip}`. A delta whose version is not
     * newer than the layer's is ignored; a delta that is not a reset and does not follow the version held
     * is ignored too, and `versions` then tells the app what the map holds (it answers with a reset).
     */
    deltas: PropTypes.arrayOf(PropTypes.shape({
        layer: PropTypes.oneOf(['cases', 'alarms', 'staff']),
        version: PropTypes.number,
        base: PropTypes.number,
        reset: PropTypes.bool,
        upsert: PropTypes.arrayOf(PropTypes.object),
        remove: PropTypes.arrayOf(PropTypes.oneOfType([PropTypes.string, PropTypes.number])),
    })),
    /** Where to move the view: `{key, center: [lon, lat], zoom}` or `{key, bounds, max_zoom}`; applied when
     * `key` changes, so the operator's own view is kept otherwise. Zooms are a 1080p wall's: a larger map
     * goes log2 of its scale further in, to show the same streets. With `settle_ms`, the move waits until no
     * newer view has come for that long (a newer one replaces it). */
    view: PropTypes.object,
    /** Pixels (at 1080p; more on a larger map) kept clear on each side when the map fits the district or
     * several alarms: `{top, right, bottom, left}`, for what lies over the map (its legend). */
    padding: PropTypes.object,
    /** Lines from a case to the people recommended for it: [case lon, case lat, person lon, person lat]. */
    links: PropTypes.arrayOf(PropTypes.arrayOf(PropTypes.number)),
    /**
     * A case's history drawn over the live layers, or null: a GeoJSON FeatureCollection of the path a person
     * walked to it (LineString, `kind` "path") and points (`kind` "reported": where it was reported, drawn as a
     * ring; "arrived": where the person arrived, a dot), all in the palette's `trail` colour.
     */
    trail: PropTypes.object,
    /** Layer groups not drawn (boundary, committees, grid, roads, compounds, buildings, poles, cases, alarms,
     * staff). */
    hidden: PropTypes.arrayOf(PropTypes.string),
    /** The local font family text is drawn in (nothing is fetched for text). */
    font_family: PropTypes.string,
    /** Set by the map: the version of each live layer it holds. */
    versions: PropTypes.object,
    /** Set by the map on a click: `{layer, id, lon, lat, number, n}` (`layer` null: the map itself). */
    clickData: PropTypes.object,
    /** Set by the map when the pointer comes onto a feature: `{layer, id}`. */
    hoverData: PropTypes.object,
    /** CSS classes of the map's container. */
    className: PropTypes.string,
    /** Inline style of the map's container. */
    style: PropTypes.object,
    /** Dash-assigned callback that should be called to report property changes to Dash, to make them
     * available for callbacks. */
    setProps: PropTypes.func,
};
