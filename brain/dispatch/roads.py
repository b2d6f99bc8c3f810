"""Walking distance along the road network (Dijkstra over road segments, in metres).

A point is snapped to its nearest road segment: its network distance to another point is the way
along the segments between their two snap points, plus the short walk from each point to its road.
"""

from __future__ import annotations

import itertools

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely import STRtree
from shapely.ops import substring

from geodata.district import District


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

    def snap(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each point: (edge index, distance along the edge from its `a` end, distance to the edge)."""
        pts = shapely.points(xs, ys)
        idx = self.tree.query_nearest(pts, all_matches=False)
        edge = np.empty(len(pts), dtype=int)
        edge[idx[0]] = idx[1]
        lines = self.edges[edge]
        along = shapely.line_locate_point(lines, pts)
        off = shapely.distance(lines, pts)
        return edge, along, off

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
