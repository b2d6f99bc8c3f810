/**
 * The live layers' points, drawn on a canvas of their own laid over the map's (the component's own
 * WebGL2 context, following the map's camera through its public API): one buffer per layer of every
 * feature's position and style, updated in place where a feature changes and drawn with one call.
 * Nothing is tiled, indexed or sent to a worker, and a live update redraws only these points: the map's
 * own canvas (its geography and labels, the costly part to draw in software) is drawn again only when the
 * view moves. A storm's thousands of new alarms cost a copy into a buffer and one small frame.
 *
 * Each point is a dot of the feature's colour and size with a rim of the map's background colour; a
 * feature with `ring` has a ring of the palette's ring colour around it. Sizes are a 1080p wall's and grow
 * with the map's scale. Positions are kept relative to an origin near the district in 32-bit floats, and
 * the view's centre is taken relative to the same origin in 64-bit arithmetic, so a point stands still at
 * any zoom. The district map has no pitch or bearing, so the view is a scale and a shift.
 */
import {MercatorCoordinate} from 'maplibre-gl';

const STRIDE = 9; // x, y (mercator, from the origin), r, g, b (0-1), size (px at 1080p), ring (0/1), opacity, spare
const TILE = 512; // MapLibre's world is 512 px wide at zoom 0

const VERTEX = `#version 300 es
uniform vec4 u_view; // the view's centre from the origin (mercator), and mercator -> clip scale in x and y
uniform float u_scale;
uniform float u_ratio;
in vec2 a_pos;
in vec3 a_colour;
in vec4 a_style;
out vec3 v_colour;
out vec4 v_shape; // radius, ring (0/1), opacity, half the point's side (CSS px)
void main() {
    gl_Position = vec4((a_pos.x - u_view.x) * u_view.z, (u_view.y - a_pos.y) * u_view.w, 0.0, 1.0);
    float radius = a_style.x * u_scale * 0.5;
    float outer = a_style.y > 0.5 ? radius + 10.0 * u_scale : radius + 1.2 * u_scale;
    float half_side = outer + 1.0;
    gl_PointSize = 2.0 * half_side * u_ratio;
    v_colour = a_colour;
    v_shape = vec4(radius, a_style.y, a_style.z, half_side);
}`;

const FRAGMENT = `#version 300 es
precision highp float;
uniform float u_scale;
uniform vec3 u_rim;
uniform vec3 u_ring;
in vec3 v_colour;
in vec4 v_shape;
out vec4 fragColor;
void main() {
    float d = length(gl_PointCoord - 0.5) * 2.0 * v_shape.w;
    float radius = v_shape.x;
    float rim = radius + 1.2 * u_scale;
    // the dot with its rim, edges smoothed over a pixel
    float inDot = 1.0 - smoothstep(radius - 0.5, radius + 0.5, d);
    float inRim = 1.0 - smoothstep(rim - 0.5, rim + 0.5, d);
    vec3 colour = mix(u_rim, v_colour, inDot);
    float alpha = inRim * v_shape.z;
    if (v_shape.y > 0.5) {
        float r0 = radius + 7.0 * u_scale;
        float r1 = r0 + 3.0 * u_scale;
        float inRing = smoothstep(r0 - 0.5, r0 + 0.5, d) * (1.0 - smoothstep(r1 - 0.5, r1 + 0.5, d));
        colour = mix(colour, u_ring, inRing * (1.0 - inRim));
        alpha = max(alpha, inRing);
    }
    if (alpha <= 0.0) {
        discard;
    }
    fragColor = vec4(colour * alpha, alpha);
}`;

const COLOURS = new Map();

/** '#rrggbb' or '#rgb' as [r, g, b] in 0-1 (anything else: grey). */
export function rgb(colour) {
    let out = COLOURS.get(colour);
    if (out) {
        return out;
    }
    let hex = typeof colour === 'string' && /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(colour) ? colour.slice(1) : '888888';
    if (hex.length === 3) {
        hex = hex.split('').map((c) => c + c).join('');
    }
    out = [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
    COLOURS.set(colour, out);
    return out;
}

function compile(gl, type, source) {
    const shader = gl.createShader(type);
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
        throw new Error(`district map: a live layer's shader did not compile: ${gl.getShaderInfoLog(shader)}`);
    }
    return shader;
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
        this.dirty = true; // the GL buffer is behind
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
        const [r, g, b] = rgb(f.colour);
        const o = slot * STRIDE;
        const d = this.data;
        d[o] = m.x - this.origin[0];
        d[o + 1] = m.y - this.origin[1];
        d[o + 2] = r;
        d[o + 3] = g;
        d[o + 4] = b;
        d[o + 5] = f.size || 10;
        d[o + 6] = f.ring ? 1 : 0;
        d[o + 7] = f.opacity === undefined ? 1 : f.opacity;
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

    /** Copy what changed to the GL buffer (made on first use); returns whether there was anything. */
    upload(gl, attrib) {
        if (!this.buffer) {
            this.buffer = gl.createBuffer();
            this.vao = gl.createVertexArray();
            gl.bindVertexArray(this.vao);
            gl.bindBuffer(gl.ARRAY_BUFFER, this.buffer);
            const bytes = STRIDE * 4;
            gl.enableVertexAttribArray(attrib.pos);
            gl.vertexAttribPointer(attrib.pos, 2, gl.FLOAT, false, bytes, 0);
            gl.enableVertexAttribArray(attrib.colour);
            gl.vertexAttribPointer(attrib.colour, 3, gl.FLOAT, false, bytes, 8);
            gl.enableVertexAttribArray(attrib.style);
            gl.vertexAttribPointer(attrib.style, 4, gl.FLOAT, false, bytes, 20);
            gl.bindVertexArray(null);
            this.held = 0; // bytes the GL buffer holds
            this.dirty = true;
        }
        if (!this.dirty) {
            return false;
        }
        const used = this.ids.length * STRIDE;
        gl.bindBuffer(gl.ARRAY_BUFFER, this.buffer);
        if (used * 4 > this.held) {
            this.held = this.data.byteLength;
            gl.bufferData(gl.ARRAY_BUFFER, this.data, gl.DYNAMIC_DRAW);
        } else if (used) {
            gl.bufferSubData(gl.ARRAY_BUFFER, 0, this.data, 0, used);
        }
        this.dirty = false;
        return true;
    }

    draw(gl) {
        if (this.visible && this.ids.length) {
            gl.bindVertexArray(this.vao);
            gl.drawArrays(gl.POINTS, 0, this.ids.length);
            gl.bindVertexArray(null);
        }
    }

    /** The radius in CSS px a feature in `slot` takes on screen (its ring included), at the map's scale. */
    extent(slot) {
        const o = slot * STRIDE;
        const radius = this.data[o + 5] * this.scale * 0.5;
        return this.data[o + 6] > 0.5 ? radius + 10 * this.scale : radius + 1.2 * this.scale;
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
            const o = slot * STRIDE;
            out.push({id: this.ids[slot], x: p.x, y: p.y, radius: this.data[o + 5] * this.scale * 0.5,
                ring: this.data[o + 6] > 0.5, opacity: this.data[o + 7],
                colour: [2, 3, 4].map((i) => Math.round(this.data[o + i] * 255))});
        }
        return out;
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
        this.rim = rgb(palette.background);
        this.ring = rgb(palette.ring);
        this.fresh = new Set();
        this.scale = 1;
        this.queued = 0;
        this.canvas = document.createElement('canvas');
        this.canvas.className = 'district-map-live';
        Object.assign(this.canvas.style, {position: 'absolute', left: '0', top: '0', pointerEvents: 'none'});
        map.getCanvasContainer().appendChild(this.canvas);
        const gl = this.canvas.getContext('webgl2', {premultipliedAlpha: true, antialias: false, depth: false,
            stencil: false, preserveDrawingBuffer: false});
        if (!gl) {
            throw new Error('district map: WebGL2 is not available for the live layers');
        }
        this.gl = gl;
        const program = gl.createProgram();
        gl.attachShader(program, compile(gl, gl.VERTEX_SHADER, VERTEX));
        gl.attachShader(program, compile(gl, gl.FRAGMENT_SHADER, FRAGMENT));
        gl.linkProgram(program);
        if (!gl.getProgramParameter(program, gl.LINK_STATUS)) {
            throw new Error(`district map: the live layers' program did not link: ${gl.getProgramInfoLog(program)}`);
        }
        this.program = program;
        this.attrib = {pos: gl.getAttribLocation(program, 'a_pos'), colour: gl.getAttribLocation(program, 'a_colour'),
            style: gl.getAttribLocation(program, 'a_style')};
        this.u = {};
        for (const name of ['u_view', 'u_scale', 'u_ratio', 'u_rim', 'u_ring']) {
            this.u[name] = gl.getUniformLocation(program, name);
        }
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
        const gl = this.gl;
        const [w, h, ratio] = this.fit();
        gl.viewport(0, 0, this.canvas.width, this.canvas.height);
        gl.clearColor(0, 0, 0, 0);
        gl.clear(gl.COLOR_BUFFER_BIT);
        gl.enable(gl.BLEND);
        gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
        gl.useProgram(this.program);
        const centre = MercatorCoordinate.fromLngLat(this.map.getCenter());
        const world = TILE * Math.pow(2, this.map.getZoom());
        const origin = this.layers.length ? this.layers[0].origin : [0, 0];
        gl.uniform4f(this.u.u_view, centre.x - origin[0], centre.y - origin[1], 2 * world / w, 2 * world / h);
        gl.uniform1f(this.u.u_scale, this.scale);
        gl.uniform1f(this.u.u_ratio, ratio);
        gl.uniform3fv(this.u.u_rim, this.rim);
        gl.uniform3fv(this.u.u_ring, this.ring);
        const shown = [];
        for (const layer of this.layers) {
            layer.scale = this.scale;
            if (layer.upload(gl, this.attrib) || this.fresh.has(layer.group)) {
                shown.push(layer.group);
            }
            layer.draw(gl);
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
