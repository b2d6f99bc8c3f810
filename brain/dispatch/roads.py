"""Walking distance along the road network (Dijkstra over road segments, in metres).

A point is snapped to its nearest road segment: its network distance to another point is the way
along the segments between their two snap points, plus the short walk from each point to its road.

Snapping is what a ranking does most (every person measured is snapped), so it does not ask the STRtree
point by point: the roads are cut into straight pieces, and a grid of `SNAP_CELL_M` cells lists, for each
cell, every piece that can be the nearest to some point of the cell (those within the nearest piece's
distance from the cell's centre plus a cell's diagonal). A batch of points is then measured against its
cells' short lists in a few vectorised steps. The answer is exact, the same piece the tree would find
(ties to the lowest piece); a point off the grid, or in a cell whose list is long, asks the tree.
"""

from __future__ import annotations

import itertools
from functools import cached_property

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely import STRtree
from shapely.ops import substring

from geodata.district import District

SNAP_CELL_M = 50.0
SNAP_MARGIN_M = 500.0  # the grid reaches this far beyond the roads' extent
SNAP_MAX_LIST = 24  # a cell with more candidate pieces than this (far from any road) asks the tree


class RoadNetwork:
    def __init__(self, district: District) -> None:
        roads = district.roads
        geoms = np.asarray(district.metric("roads"))
        nodes: dict[str, int] = {}
        a_idx, b_idx, length = [], [], []
        for a, b, g in zip(roads["from_node"], roads["to_node"], geoms, strict=True):
            a_idx.append(nodes.setdefault(str(a), len(nodes)))
            b_idx.append(nodes.setdefault(str(b), len(nodes)))
            length.append(max(float(g.length), 1e-3))
        self.n = len(nodes)
        self.edge_a = np.array(a_idx)
        self.edge_b = np.array(b_idx)
        self.edge_len = np.array(length)
        self.edges = geoms
        self.tree = STRtree(geoms)
        n = self.n
        # every segment both ways, so a search runs it as directed: asked to treat it as undirected, scipy
        # would make it symmetric again, a pass over every edge, on each search
        self.graph = csr_matrix((np.r_[self.edge_len, self.edge_len], (np.r_[self.edge_a, self.edge_b],
                                                                      np.r_[self.edge_b, self.edge_a])), shape=(n, n))
        self._cut_pieces()
        self._grid()

    def _cut_pieces(self) -> None:
        """Every edge as straight pieces (`piece_table`, `piece_edge`; `pieces` as lines, for the tree). A last
        piece far from everything pads the grid's lists."""
        xy, which = shapely.get_coordinates(self.edges, return_index=True)
        same = which[1:] == which[:-1]  # consecutive vertices of one edge make a piece
        x0, y0, x1, y1 = xy[:-1, 0][same], xy[:-1, 1][same], xy[1:, 0][same], xy[1:, 1][same]
        edge = which[:-1][same]
        length = np.hypot(x1 - x0, y1 - y0)
        start = np.cumsum(length) - length  # along the edge: the pieces before this one, within its edge
        first = np.r_[True, edge[1:] != edge[:-1]]
        start -= np.maximum.accumulate(np.where(first, start, 0.0))
        # a road's measured length is its geometry's; the pieces' lengths add up to it
        self.piece_edge = np.r_[edge, 0]
        # one row a piece (the compiled ranking's layout too, see kernel.snap_one): x, y, dx, dy, 1 / length²,
        # its edge, where along the edge it starts, its length; the last row is the far padding piece
        self.piece_table = np.ascontiguousarray(np.c_[
            np.r_[x0, 1e12], np.r_[y0, 1e12], np.r_[x1 - x0, 0.0], np.r_[y1 - y0, 0.0],
            1.0 / np.r_[np.maximum(length ** 2, 1e-12), 1.0], self.piece_edge.astype(float), np.r_[start, 0.0],
            np.r_[length, 0.0]])
        self.pieces = shapely.linestrings(np.stack([np.c_[x0, y0], np.c_[x1, y1]], axis=1))
        self.piece_tree = STRtree(self.pieces)

    def _grid(self) -> None:
        """For each cell, the pieces that can be nearest to a point in it (sorted; padded with the far piece)."""
        minx, miny, maxx, maxy = shapely.total_bounds(self.pieces) if len(self.pieces) else (0.0, 0.0, 0.0, 0.0)
        c = SNAP_CELL_M
        self.grid_x0, self.grid_y0 = minx - SNAP_MARGIN_M, miny - SNAP_MARGIN_M
        self.grid_nx = int(np.ceil((maxx - minx + 2 * SNAP_MARGIN_M) / c))
        self.grid_ny = int(np.ceil((maxy - miny + 2 * SNAP_MARGIN_M) / c))
        cx, cy = np.meshgrid(self.grid_x0 + c * (np.arange(self.grid_nx) + 0.5),
                             self.grid_y0 + c * (np.arange(self.grid_ny) + 0.5))
        centres = shapely.points(cx.ravel(), cy.ravel())
        _, nearest = self.piece_tree.query_nearest(centres, return_distance=True, all_matches=False)
        # a point of the cell is within half a diagonal of the centre: its nearest piece is within the
        # centre's nearest distance plus a whole diagonal of the centre
        cell, piece = self.piece_tree.query(centres, predicate="dwithin", distance=nearest + c * np.sqrt(2) + 1e-6)
        counts = np.bincount(cell, minlength=len(centres))
        width = int(min(counts.max(initial=1), SNAP_MAX_LIST))
        far = len(self.piece_edge) - 1
        table = np.full((len(centres), width), far, dtype=np.int32)
        order = np.lexsort((piece, cell))
        cell, piece = cell[order], piece[order]
        rank = np.arange(len(cell)) - np.repeat(np.cumsum(counts) - counts, counts)
        fits = rank < width
        table[cell[fits], rank[fits]] = piece[fits]
        self.grid_table = table
        self.grid_full = counts <= width  # a cell whose list is whole

    def snap(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each point: (edge index, distance along the edge from its `a` end, distance to the edge)."""
        xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        gx = ((xs - self.grid_x0) * (1.0 / SNAP_CELL_M)).astype(np.intp)  # (off the grid: caught below)
        gy = ((ys - self.grid_y0) * (1.0 / SNAP_CELL_M)).astype(np.intp)
        cell = np.minimum(np.maximum(gy, 0), self.grid_ny - 1) * self.grid_nx + np.minimum(np.maximum(gx, 0),
                                                                                          self.grid_nx - 1)
        cand = self.grid_table[cell]  # (points, width)
        g = self.piece_table[cand]  # (points, width, 8)
        px, py = xs[:, None] - g[..., 0], ys[:, None] - g[..., 1]
        t = np.minimum(np.maximum((px * g[..., 2] + py * g[..., 3]) * g[..., 4], 0.0), 1.0)
        px -= t * g[..., 2]
        py -= t * g[..., 3]
        d2 = px * px + py * py
        k = np.argmin(d2, axis=1)  # the first of equals: the lowest piece
        rows = np.arange(len(xs))
        piece, along, dist = cand[rows, k], t[rows, k], np.sqrt(d2[rows, k])
        off_grid = ((xs < self.grid_x0) | (ys < self.grid_y0) | (gx >= self.grid_nx) | (gy >= self.grid_ny)
                    | ~self.grid_full[cell])
        if off_grid.any():  # off the grid, or in a cell whose list is cut: the tree
            i = np.flatnonzero(off_grid)
            found = self.piece_tree.query_nearest(shapely.points(xs[i], ys[i]), all_matches=True)
            p = np.full(len(i), len(self.piece_edge))
            np.minimum.at(p, found[0], found[1])  # of equally near pieces, the lowest (as the grid's lists)
            gp = self.piece_table[p]
            px, py = xs[i] - gp[:, 0], ys[i] - gp[:, 1]
            tt = np.minimum(np.maximum((px * gp[:, 2] + py * gp[:, 3]) * gp[:, 4], 0.0), 1.0)
            piece[i], along[i] = p, tt
            dist[i] = np.hypot(px - tt * gp[:, 2], py - tt * gp[:, 3])
        return self.piece_edge[piece], self.piece_table[piece, 6] + along * self.piece_table[piece, 7], dist

    @cached_property
    def kernel_args(self) -> tuple:
        """The graph, the pieces and the grid as `brain.dispatch.kernel.nearest_by_road` takes them."""
        g = self.graph
        adj = np.ascontiguousarray(np.c_[g.indices.astype(float), g.data])  # a node's roads, one read each
        ends = np.ascontiguousarray(np.c_[self.edge_a.astype(float), self.edge_b.astype(float), self.edge_len])
        return (g.indptr, adj, ends, self.piece_table, self.grid_x0, self.grid_y0, self.grid_nx, self.grid_ny,
                SNAP_CELL_M, self.grid_table, self.grid_full)

    @cached_property
    def snap_args(self) -> tuple:
        """The grid and the pieces as `brain.dispatch.kernel.snap_one` takes them after a point."""
        return (self.grid_x0, self.grid_y0, self.grid_nx, self.grid_ny, SNAP_CELL_M, self.grid_table, self.grid_full,
                self.piece_table)

    def source(self, x: float, y: float, *, limit: float) -> tuple:
        """A search from (x, y) along the roads up to `limit` metres: its snap and the distance to every
        node (inf beyond), for `to()` to measure any number of points against."""
        (e0,), (t0,), (o0,) = self.snap(np.array([x]), np.array([y]))
        a, b, L = self.edge_a[e0], self.edge_b[e0], self.edge_len[e0]
        d = dijkstra(self.graph, directed=True, indices=[a, b], limit=limit + L)  # (both ways are in the graph)
        return e0, t0, o0, np.minimum(t0 + d[0], (L - t0) + d[1])  # to every node, leaving by either end

    def to(self, src: tuple, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Walking distance from a `source()` to each of (xs, ys) in metres: exact where it is within the
        source's limit (inf, or an over-estimate, beyond it)."""
        if not len(xs):
            return np.zeros(0)
        e0, t0, o0, from_src = src
        edges, along, off = self.snap(xs, ys)
        ea, eb, el = self.edge_a[edges], self.edge_b[edges], self.edge_len[edges]
        via_nodes = np.minimum(from_src[ea] + along, from_src[eb] + (el - along))
        same_edge = edges == e0
        via_nodes[same_edge] = np.minimum(via_nodes[same_edge], np.abs(along[same_edge] - t0))
        return o0 + via_nodes + off

    def distances(self, x: float, y: float, xs: np.ndarray, ys: np.ndarray, *, limit: float) -> np.ndarray:
        """Walking distance from (x, y) to each of (xs, ys) in metres (inf beyond `limit`)."""
        if not len(xs):
            return np.zeros(0)
        return self.to(self.source(x, y, limit=limit), xs, ys)

    def route(self, x0: float, y0: float, x1: float, y1: float) -> tuple[list[tuple[float, float]], float]:
        """The walking way from (x0, y0) to (x1, y1) along the network, as metric points, and its length in
        metres (the same length `distances` gives): to the nearest road, along the roads, to the target."""
        (e0, e1), (t0, t1), (o0, o1) = self.snap(np.array([x0, x1]), np.array([y0, y1]))
        line0, line1 = self.edges[e0], self.edges[e1]
        if e0 == e1:
            part = substring(line0, t0, t1)
            return [(x0, y0), *_coords(part), (x1, y1)], float(o0 + abs(t1 - t0) + o1)
        a0, b0, len0 = self.edge_a[e0], self.edge_b[e0], self.edge_len[e0]
        a1, b1, len1 = self.edge_a[e1], self.edge_b[e1], self.edge_len[e1]
        d, pred = dijkstra(self.graph, directed=True, indices=[a0, b0], return_predecessors=True)
        # leave the first edge by either end, enter the last by either end: the shortest of the four
        options = [(lead + d[k][node] + tail, k, node)
                   for k, lead in ((0, t0), (1, len0 - t0))
                   for node, tail in ((a1, t1), (b1, len1 - t1))]
        length, k, node = min(options, key=lambda o: o[0])
        if not np.isfinite(length):
            return [(x0, y0), (x1, y1)], float("inf")
        nodes = [int(node)]
        while nodes[-1] != (a0, b0)[k]:
            nodes.append(int(pred[k][nodes[-1]]))
        nodes.reverse()
        pts = [(x0, y0), *_coords(substring(line0, t0, 0.0 if k == 0 else len0))]
        for u, v in itertools.pairwise(nodes):
            edge, forward = self._edge_between(u, v)
            g = self.edges[edge]
            pts += _coords(g if forward else substring(g, g.length, 0.0))
        pts += [*_coords(substring(line1, 0.0 if node == a1 else len1, t1)), (x1, y1)]
        return pts, float(o0 + length + o1)

    def around(self, xmin: float, ymin: float, xmax: float, ymax: float, limit: int = 400
               ) -> list[list[tuple[float, float]]]:
        """The road segments crossing a metric box (at most `limit`), as lists of metric points."""
        hits = self.tree.query(shapely.box(xmin, ymin, xmax, ymax))
        return [_coords(self.edges[i]) for i in sorted(hits.tolist())[:limit]]

    def _edge_between(self, u: int, v: int) -> tuple[int, bool]:
        """The shortest edge joining nodes u and v, and whether it runs from u to v."""
        if not hasattr(self, "_pairs"):
            pairs: dict[tuple[int, int], int] = {}
            for i, (a, b) in enumerate(zip(self.edge_a.tolist(), self.edge_b.tolist(), strict=True)):
                for key in ((a, b), (b, a)):
                    if key not in pairs or self.edge_len[i] < self.edge_len[pairs[key]]:
                        pairs[key] = i
            self._pairs = pairs
        i = self._pairs[(u, v)]
        return i, int(self.edge_a[i]) == u


def _coords(line) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in line.coords]
