/**
 * The live layers' points, drawn on a canvas of their own laid over the map's (a 2D canvas, following the
 * map's camera through its public API): one packed array per layer of every feature's position and style,
 * updated in place where a feature changes. A live update redraws only these points: the map's own canvas
 * (its geography and labels, the costly part to draw in software) is drawn again only when the view moves.
 *
 * Each point is a dot of the feature's colour and size with a rim of the map's background colour; a
 * feature with `ring` has a ring of the palette's ring colour around it. A look (colour, size, ring,
 * opacity) is drawn once into a small stamp at the screen's resolution, and each point is a copy of its
 * look's stamp: a few looks, many points. (A 2D canvas, not WebGL: where the wall's browser draws in
 * software, every frame of a WebGL canvas is read back from the GPU process, which waits for it to finish
 * drawing; a 2D canvas is drawn where it is shown.) Sizes are a 1080p wall's and grow with the map's scale.
 * Positions are kept relative to an origin near the district in 32-bit floats, and the view's centre is
 * taken relative to the same origin in 64-bit arithmetic, so a point stands still at any zoom. The district
 * map has no pitch or bearing, so the view is a scale and a shift.
 */
import {MercatorCoordinate} from 'maplibre-gl';

const STRIDE = 3; // x, y (mercator, from the origin), the number of its look (LOOK_OF: colour, size, ring, opacity)
const TILE = 512; // MapLibre's world is 512 px wide at zoom 0
const TAU = 2 * Math.PI;

// every look a point has had: (colour, size in px at 1080p, ring, opacity) -> its number, and back
const LOOKS = new Map();
const LOOK_OF = [];

/** The number of a feature's look (a colour that is not '#rrggbb' or '#rgb' is grey). */
function lookOf(f) {
    const colour = hexOf(f.colour);
    const size = f.size || 10;
    const ring = !!f.ring;
    const opacity = f.opacity === undefined ? 1 : f.opacity;
    const key = `${colour}|${size}|${ring ? 1 : 0}|${opacity}`;
    let n = LOOKS.get(key);
    if (n === undefined) {
        n = LOOK_OF.length;
        LOOKS.set(key, n);
        LOOK_OF.push({colour, size, ring, opacity});
    }
    return n;
}

const COLOURS = new Map();

/** The colour if it is '#rrggbb' or '#rgb', else grey. */
function hexOf(colour) {
    return typeof colour === 'string' && /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(colour) ? colour : '#888888';
}

/** '#rrggbb' or '#rgb' as [r, g, b] in 0-1 (anything else: grey). */
export function rgb(colour) {
    let out = COLOURS.get(colour);
    if (out) {
        return out;
    }
    let hex = hexOf(colour).slice(1);
    if (hex.length === 3) {
        hex = hex.split('').map((c) => c + c).join('');
    }
    out = [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
    COLOURS.set(colour, out);
    return out;
}

/**
 * The points of one live layer, kept by id in a packed buffer (a removed feature's slot takes the last one).
 */
export class LivePoints {
    constructor(group, origin) {
        this.group = group;
        this.origin = origin; // [x, y] mercator
        this.data = new Float32Array(STRIDE * 1024);
        this.ids = []; // slot -> id
        this.slots = new Map(); // id -> slot
        this.merc = new Float64Array(2 * 1024); // slot -> mercator x, y (64-bit, for picking)
        this.dirty = true; // changed since last drawn
        this.visible = true;
        this.scale = 1;
        this.onChange = null; // called when what this layer draws changed
    }

    get size() {
        return this.ids.length;
    }

    grow(n) {
        if (n * STRIDE <= this.data.length) {
            return;
        }
        const cap = Math.max(n, 2 * this.data.length / STRIDE);
        const data = new Float32Array(cap * STRIDE);
        data.set(this.data);
        this.data = data;
        const merc = new Float64Array(cap * 2);
        merc.set(this.merc);
        this.merc = merc;
    }

    write(slot, f) {
        const m = MercatorCoordinate.fromLngLat([f.lon, f.lat]);
        const o = slot * STRIDE;
        const d = this.data;
        d[o] = m.x - this.origin[0];
        d[o + 1] = m.y - this.origin[1];
        d[o + 2] = lookOf(f);
        this.merc[slot * 2] = m.x;
        this.merc[slot * 2 + 1] = m.y;
    }

    /** Add or replace a feature ({id, lon, lat, colour, size, ring, opacity}). */
    upsert(f) {
        if (!Number.isFinite(f.lon) || !Number.isFinite(f.lat)) {
            this.remove(f.id);
            return;
        }
        let slot = this.slots.get(f.id);
        if (slot === undefined) {
            slot = this.ids.length;
            this.grow(slot + 1);
            this.ids.push(f.id);
            this.slots.set(f.id, slot);
        }
        this.write(slot, f);
        this.dirty = true;
    }

    remove(id) {
        const slot = this.slots.get(id);
        if (slot === undefined) {
            return;
        }
        const last = this.ids.length - 1;
        if (slot !== last) {
            const moved = this.ids[last];
            this.data.copyWithin(slot * STRIDE, last * STRIDE, (last + 1) * STRIDE);
            this.merc.copyWithin(slot * 2, last * 2, last * 2 + 2);
            this.ids[slot] = moved;
            this.slots.set(moved, slot);
        }
        this.ids.pop();
        this.slots.delete(id);
        this.dirty = true;
    }

    /** Replace every feature with those of `features` (a Map or iterable of features). */
    reset(features) {
        this.ids = [];
        this.slots = new Map();
        for (const f of features.values()) {
            this.upsert(f);
        }
        this.dirty = true;
    }

    /** Bring the features `ids` up to date with `features` (id -> feature; an id not there is removed). */
    update(ids, features) {
        for (const id of ids) {
            const f = features.get(id);
            if (f) {
                this.upsert(f);
            } else {
                this.remove(id);
            }
        }
    }

    changed() {
        if (this.onChange) {
            this.onChange(this.group);
        }
    }

    show(visible) {
        if (visible !== this.visible) {
            this.visible = visible;
            this.changed();
        }
    }

    /**
     * Stamp every point on `ctx` (device px): a point at mercator (x, y) from the origin is at
     * ((x - cx) * world + w2, (y - cy) * world + h2) CSS px; those farther off the screen than their stamp
     * are skipped. Returns whether this layer had changed since it was last drawn.
     */
    paint(ctx, stamps, cx, cy, world, w2, h2, ratio) {
        const changed = this.dirty;
        this.dirty = false;
        if (!this.visible) {
            return changed;
        }
        const d = this.data;
        const w = 2 * w2;
        const h = 2 * h2;
        for (let slot = 0, o = 0; slot < this.ids.length; slot++, o += STRIDE) {
            const x = (d[o] - cx) * world + w2;
            const y = (d[o + 1] - cy) * world + h2;
            const stamp = stamps.of(d[o + 2]);
            if (x < -stamp.half || y < -stamp.half || x > w + stamp.half || y > h + stamp.half) {
                continue;
            }
            ctx.drawImage(stamp.canvas, Math.round(x * ratio) - stamp.centre, Math.round(y * ratio) - stamp.centre);
        }
        return changed;
    }

    /** The radius in CSS px a feature in `slot` takes on screen (its ring included), at the map's scale. */
    extent(slot) {
        const look = LOOK_OF[this.data[slot * STRIDE + 2]];
        const radius = look.size * this.scale * 0.5;
        return look.ring ? radius + 10 * this.scale : radius + 1.2 * this.scale;
    }

    /**
     * The feature drawn nearest the map's `point` (CSS px) within its own extent and `tolerance` px, drawn last
     * among equals (the one on top); null when none is. `map` has no pitch or bearing (the district map has none).
     */
    pick(map, point, tolerance) {
        if (!this.visible || !this.ids.length) {
            return null;
        }
        const q = MercatorCoordinate.fromLngLat(map.unproject(point));
        const world = TILE * Math.pow(2, map.getZoom());
        let best = null;
        let bestD = Infinity;
        for (let slot = 0; slot < this.ids.length; slot++) {
            const dx = (this.merc[slot * 2] - q.x) * world;
            const dy = (this.merc[slot * 2 + 1] - q.y) * world;
            const d = Math.hypot(dx, dy);
            if (d <= this.extent(slot) + tolerance && d <= bestD) {
                best = this.ids[slot];
                bestD = d;
            }
        }
        return best;
    }

    /** What is drawn inside the map's view: [{id, x, y, radius, ring, colour: [r, g, b] 0-255, opacity}]. */
    drawn(map) {
        if (!this.visible) {
            return [];
        }
        const canvas = map.getCanvas();
        const w = canvas.clientWidth;
        const h = canvas.clientHeight;
        const out = [];
        for (let slot = 0; slot < this.ids.length; slot++) {
            const mc = new MercatorCoordinate(this.merc[slot * 2], this.merc[slot * 2 + 1]);
            const p = map.project(mc.toLngLat());
            if (p.x < 0 || p.y < 0 || p.x > w || p.y > h) {
                continue;
            }
            const look = LOOK_OF[this.data[slot * STRIDE + 2]];
            out.push({id: this.ids[slot], x: p.x, y: p.y, radius: look.size * this.scale * 0.5, ring: look.ring,
                opacity: look.opacity, colour: rgb(look.colour).map((v) => Math.round(v * 255))});
        }
        return out;
    }
}

/**
 * Each look's stamp at the map's scale and the screen's device pixel ratio (drawn again when either
 * changes): the ring (full opacity), then the rim and the dot at the look's opacity, smoothed by the canvas.
 */
class Stamps {
    constructor(rim, ring) {
        this.rim = rim; // CSS colours
        this.ring = ring;
        this.scale = 1;
        this.ratio = 1;
        this.made = [];
    }

    /** Use this scale and ratio from now on (forgetting the stamps of others). */
    at(scale, ratio) {
        if (scale !== this.scale || ratio !== this.ratio) {
            this.scale = scale;
            this.ratio = ratio;
            this.made = [];
        }
    }

    /** The stamp of look `n`: {canvas, centre (device px), half (CSS px: how far it reaches)}. */
    of(n) {
        let stamp = this.made[n];
        if (stamp === undefined) {
            stamp = this.made[n] = this.draw(LOOK_OF[n]);
        }
        return stamp;
    }

    draw(look) {
        const k = this.scale;
        const q = this.ratio;
        const radius = look.size * k * 0.5;
        const outer = look.ring ? radius + 10 * k : radius + 1.2 * k;
        const half = outer + 1;
        const centre = Math.ceil(half * q);
        const canvas = document.createElement('canvas');
        canvas.width = canvas.height = 2 * centre;
        const ctx = canvas.getContext('2d');
        if (look.ring) {
            ctx.beginPath();
            ctx.arc(centre, centre, (radius + 8.5 * k) * q, 0, TAU);
            ctx.lineWidth = 3 * k * q;
            ctx.strokeStyle = this.ring;
            ctx.stroke();
        }
        ctx.globalAlpha = look.opacity;
        ctx.beginPath();
        ctx.arc(centre, centre, (radius + 1.2 * k) * q, 0, TAU);
        ctx.fillStyle = this.rim;
        ctx.fill();
        ctx.beginPath();
        ctx.arc(centre, centre, radius * q, 0, TAU);
        ctx.fillStyle = look.colour;
        ctx.fill();
        return {canvas, centre, half};
    }
}

/**
 * The canvas the live layers are drawn on, laid over the map's canvas inside the map's canvas container
 * (under its popups and controls, letting the pointer through to the map). It draws when a layer changed
 * (at the next animation frame, never more than once a frame) and whenever the map draws a frame (the view
 * moved or resized), so the points move with the map in the same frame.
 */
export class LiveCanvas {
    constructor(map, layers, palette, onDrawn) {
        this.map = map;
        this.layers = layers; // drawn in this order
        this.onDrawn = onDrawn; // (groups whose new data a frame showed)
        this.stamps = new Stamps(hexOf(palette.background), hexOf(palette.ring));
        this.fresh = new Set();
        this.scale = 1;
        this.queued = 0;
        this.canvas = document.createElement('canvas');
        this.canvas.className = 'district-map-live';
        Object.assign(this.canvas.style, {position: 'absolute', left: '0', top: '0', pointerEvents: 'none'});
        map.getCanvasContainer().appendChild(this.canvas);
        this.ctx = this.canvas.getContext('2d');
        this.onRender = () => this.draw();
        map.on('render', this.onRender);
        for (const layer of layers) {
            layer.onChange = (group) => this.changed(group);
        }
        this.draw();
    }

    /** A layer's data or visibility changed: draw at the next animation frame (once, however many change). */
    changed(group) {
        this.fresh.add(group);
        if (!this.queued) {
            this.queued = requestAnimationFrame(() => {
                this.queued = 0;
                this.draw();
            });
        }
    }

    /** Fit the canvas to the map's; the size of the drawing buffer in device pixels. */
    fit() {
        const el = this.map.getCanvas();
        const ratio = window.devicePixelRatio || 1;
        const w = el.clientWidth;
        const h = el.clientHeight;
        if (this.canvas.style.width !== `${w}px` || this.canvas.style.height !== `${h}px`) {
            this.canvas.style.width = `${w}px`;
            this.canvas.style.height = `${h}px`;
        }
        const bw = Math.max(1, Math.round(w * ratio));
        const bh = Math.max(1, Math.round(h * ratio));
        if (this.canvas.width !== bw || this.canvas.height !== bh) {
            this.canvas.width = bw;
            this.canvas.height = bh;
        }
        return [w, h, ratio];
    }

    draw() {
        const ctx = this.ctx;
        const [w, h, ratio] = this.fit();
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
        this.stamps.at(this.scale, ratio);
        const centre = MercatorCoordinate.fromLngLat(this.map.getCenter());
        const world = TILE * Math.pow(2, this.map.getZoom());
        const origin = this.layers.length ? this.layers[0].origin : [0, 0];
        const shown = [];
        for (const layer of this.layers) {
            layer.scale = this.scale;
            if (layer.paint(ctx, this.stamps, centre.x - origin[0], centre.y - origin[1], world, w / 2, h / 2, ratio)
                || this.fresh.has(layer.group)) {
                shown.push(layer.group);
            }
        }
        this.fresh.clear();
        if (shown.length && this.onDrawn) {
            this.onDrawn(shown);
        }
    }

    remove() {
        this.map.off('render', this.onRender);
        if (this.queued) {
            cancelAnimationFrame(this.queued);
        }
        this.canvas.remove();
    }
}
