/** The live layers as the map holds them, and how a versioned delta changes them. */

export function emptyLayer() {
    return {version: 0, features: new Map()};
}

/** Whether two features are drawn alike (a repeated alarm's new count shows in its hover text only). */
export function drawnAlike(a, b) {
    return a.lon === b.lon && a.lat === b.lat && a.colour === b.colour && (a.size || 10) === (b.size || 10)
        && !!a.ring === !!b.ring && (a.opacity === undefined ? 1 : a.opacity) === (b.opacity === undefined ? 1 : b.opacity);
}

/** An empty GeoJSON FeatureCollection (what the links and trail sources hold when there is nothing). */
export function emptyCollection() {
    return {type: 'FeatureCollection', features: []};
}

/**
 * Apply `delta` ({version, base, reset, upsert, remove}) to `layer`; returns what the map must draw again
 * ({reset: true}, or {ids}: the features removed or drawn differently), or null when the delta is old or
 * does not follow what is held.
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
    const ids = [];
    for (const id of delta.remove || []) {
        if (layer.features.delete(id)) {
            ids.push(id);
        }
    }
    for (const f of delta.upsert || []) {
        if (!f || f.id === undefined || f.id === null) {
            continue;
        }
        const held = layer.features.get(f.id);
        layer.features.set(f.id, f);
        if (!held || !drawnAlike(held, f)) {
            ids.push(f.id); // (one drawn alike is held for its hover text: nothing to draw again)
        }
    }
    layer.version = version;
    return {ids};
}
