/** The map's style layers: the static geography with its labels, and a case's history. */

export const LIVE = ['cases', 'staff', 'alarms']; // drawn in this order: alarms on top (points.js draws them)

const TEXT_PX = {committee: 18, compound: 15, road: 14, pole: 13, cluster: 13};

/** The zooms (at 1080p) between which a layer shows; a larger map shows as much at log2(scale) more. */
export const ZOOMS = {
    'buildings-fill': [14, 24], 'roads-names': [14, 24], 'compounds-names': [15, 24], 'poles-numbers': [16.5, 24],
    'committees-names': [0, 16.5],
};

export function zoomRange(id, k) {
    const [lo, hi] = ZOOMS[id];
    const shift = Math.log2(k);
    return [lo > 0 ? lo + shift : 0, hi < 24 ? hi + shift : 24];
}

function ranged(layer, k) {
    if (!ZOOMS[layer.id]) {
        return layer;
    }
    const [minzoom, maxzoom] = zoomRange(layer.id, k);
    return {...layer, minzoom, maxzoom};
}

function text(palette, size, k, font) {
    return {
        layout: {'text-size': size * k, 'text-font': [font || 'sans-serif']},
        paint: {'text-color': palette.text, 'text-halo-color': palette.halo, 'text-halo-width': 1.6},
    };
}

function withText(layer, t) {
    return {...layer, layout: {...t.layout, ...(layer.layout || {})}, paint: {...t.paint, ...(layer.paint || {})}};
}

/** The static layers, each tagged with its group (what the legend hides and shows). */
export function staticLayers(g, palette, k, font) {
    const out = [];
    const has = (name) => !!g[name];
    const meta = (group) => ({group});
    if (has('compounds')) {
        out.push({id: 'compounds-fill', type: 'fill', source: 'compounds', metadata: meta('compounds'),
            paint: {'fill-color': palette.compound, 'fill-opacity': 0.35}});
    }
    if (has('buildings')) {
        out.push({id: 'buildings-fill', type: 'fill', source: 'buildings', metadata: meta('buildings'),
            paint: {'fill-color': palette.building, 'fill-outline-color': palette.building_edge, 'fill-opacity': 0.8}});
    }
    if (has('grid')) {
        out.push({id: 'grid-lines', type: 'line', source: 'grid', metadata: meta('grid'),
            paint: {'line-color': palette.grid, 'line-width': 0.8}});
    }
    if (has('committees')) {
        out.push({id: 'committees-lines', type: 'line', source: 'committees', metadata: meta('committees'),
            paint: {'line-color': palette.committee, 'line-width': 1.8 * k}});
    }
    if (has('roads')) {
        out.push({id: 'roads-lines', type: 'line', source: 'roads', metadata: meta('roads'),
            layout: {'line-cap': 'round', 'line-join': 'round'},
            paint: {'line-color': palette.road, 'line-width': ['interpolate', ['linear'], ['zoom'], 13, 1.2 * k, 17, 6 * k]}});
    }
    if (has('boundary')) {
        out.push({id: 'boundary-lines', type: 'line', source: 'boundary', metadata: meta('boundary'),
            paint: {'line-color': palette.boundary, 'line-width': 3 * k}});
    }
    if (has('poles')) {
        out.push({id: 'poles-clusters', type: 'circle', source: 'poles', filter: ['has', 'point_count'],
            metadata: meta('poles'), paint: {'circle-color': palette.pole, 'circle-opacity': 0.55,
                'circle-radius': ['step', ['get', 'point_count'], 9 * k, 50, 13 * k, 500, 18 * k]}});
        out.push(withText({id: 'poles-cluster-count', type: 'symbol', source: 'poles', filter: ['has', 'point_count'],
            metadata: meta('poles'), layout: {'text-field': ['get', 'point_count_abbreviated'], 'text-allow-overlap': true}},
        text(palette, TEXT_PX.cluster, k, font)));
        out.push({id: 'poles-points', type: 'circle', source: 'poles', filter: ['!', ['has', 'point_count']],
            metadata: meta('poles'), paint: {'circle-color': palette.pole, 'circle-opacity': 0.85,
                'circle-radius': ['interpolate', ['linear'], ['zoom'], 13, 1.5 * k, 17, 4 * k]}});
    }
    if (has('roads')) {
        out.push(withText({id: 'roads-names', type: 'symbol', source: 'roads', metadata: meta('roads'),
            layout: {'symbol-placement': 'line', 'text-field': ['get', 'name'], 'symbol-spacing': 300},
            paint: {'text-color': palette.road_text}}, text(palette, TEXT_PX.road, k, font)));
    }
    if (has('compounds')) {
        out.push(withText({id: 'compounds-names', type: 'symbol', source: 'compounds', metadata: meta('compounds'),
            layout: {'text-field': ['get', 'name']}}, text(palette, TEXT_PX.compound, k, font)));
    }
    if (has('poles')) {
        out.push(withText({id: 'poles-numbers', type: 'symbol', source: 'poles', metadata: meta('poles'),
            filter: ['!', ['has', 'point_count']],
            layout: {'text-field': ['get', 'number'], 'text-offset': [0, 0.9], 'text-anchor': 'top'}},
        text(palette, TEXT_PX.pole, k, font)));
    }
    if (has('committee_labels')) {
        out.push(withText({id: 'committees-names', type: 'symbol', source: 'committee_labels',
            metadata: meta('committees'), layout: {'text-field': ['get', 'name']}},
        text(palette, TEXT_PX.committee, k, font)));
    }
    return out.map((layer) => ranged(layer, k));
}

/** A case's history (the `trail` prop): the path walked, dashed; where reported, a ring; where arrived, a dot. */
export function trailLayers(palette, k) {
    return [
        {id: 'trail-path', type: 'line', source: 'trail', metadata: {group: 'history'}, filter: ['==', ['get', 'kind'], 'path'],
            layout: {'line-join': 'round', 'line-cap': 'round'},
            paint: {'line-color': palette.trail, 'line-width': 3 * k, 'line-dasharray': [2, 1.5]}},
        {id: 'trail-reported', type: 'circle', source: 'trail', metadata: {group: 'history'}, filter: ['==', ['get', 'kind'], 'reported'],
            paint: {'circle-color': 'rgba(0,0,0,0)', 'circle-radius': 9 * k, 'circle-stroke-color': palette.trail,
                'circle-stroke-width': 3 * k}},
        {id: 'trail-arrived', type: 'circle', source: 'trail', metadata: {group: 'history'},
            filter: ['==', ['get', 'kind'], 'arrived'],
            paint: {'circle-color': palette.trail, 'circle-radius': 6 * k, 'circle-stroke-color': palette.background,
                'circle-stroke-width': 1.5 * k}},
    ];
}

/** The paint and layout values that grow with the map's size, for a new scale `k`. */
export function scaledPaint(palette, k) {
    const out = [];
    out.push(['committees-lines', 'line-width', 1.8 * k]);
    out.push(['boundary-lines', 'line-width', 3 * k]);
    out.push(['links', 'line-width', 3 * k]);
    out.push(['trail-path', 'line-width', 3 * k]);
    out.push(['trail-reported', 'circle-radius', 9 * k]);
    out.push(['trail-reported', 'circle-stroke-width', 3 * k]);
    out.push(['trail-arrived', 'circle-radius', 6 * k]);
    for (const [layer, px] of [['committees-names', TEXT_PX.committee], ['compounds-names', TEXT_PX.compound],
        ['roads-names', TEXT_PX.road], ['poles-numbers', TEXT_PX.pole], ['poles-cluster-count', TEXT_PX.cluster]]) {
        out.push([layer, 'text-size', px * k]);
    }
    return out;
}
