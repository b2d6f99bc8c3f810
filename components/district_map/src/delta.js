/** The live layers as the map holds them, and how a versioned delta changes them. */

export function emptyLayer() {
    return {version: 0, features: new Map()};
}

/** A feature of a live layer as GeoJSON (the properties the style reads). */
export function toGeoJSON(f) {
    return {
        type: 'Feature',
        geometry: {type: 'Point', coordinates: [f.lon, f.lat]},
        properties: {
            id: f.id, colour: f.colour, size: f.size || 10, ring: !!f.ring, opacity: f.opacity === undefined ? 1 : f.opacity,
            label: f.label || '', tip: f.tip || '',
        },
    };
}

export function featureCollection(layer) {
    return {type: 'FeatureCollection', features: Array.from(layer.features.values(), toGeoJSON)};
}

/**
 * Apply `delta` ({version, base, reset, upsert, remove}) to `layer`; returns the source diff to draw
 * ({reset} or {remove, add}), or null when the delta is old or does not follow what is held.
 */
export function applyDelta(layer, delta) {
    const version = Number(delta.version);
    if (!Number.isFinite(version) || version <= layer.version) {
        return null;
    }
    if (delta.reset) {
        layer.features = new Map();
        for (const f of delta.upsert || []) {
            if (f && f.id !== undefined && f.id !== null) {
                layer.features.set(f.id, f);
            }
        }
        layer.version = version;
        return {reset: true};
    }
    if (delta.base !== undefined && delta.base !== layer.version) {
        return null; // a gap: the app resends the layer once it sees the versions held
    }
    const remove = [];
    const add = [];
    for (const id of delta.remove || []) {
        if (layer.features.delete(id)) {
            remove.push(id);
        }
    }
    for (const f of delta.upsert || []) {
        if (!f || f.id === undefined || f.id === null) {
            continue;
        }
        if (layer.features.has(f.id)) {
            remove.push(f.id);
        }
        layer.features.set(f.id, f);
        add.push(toGeoJSON(f));
    }
    layer.version = version;
    return {remove, add};
}
