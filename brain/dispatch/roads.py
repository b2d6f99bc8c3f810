"""Walking distance along the road network (Dijkstra over road segments, in metres).

A point is snapped to its nearest road segment: its network distance to another point is the way
along the segments between their two snap points, plus the short walk from each point to its road.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely import STRtree

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

    def distances(self, x: float, y: float, xs: np.ndarray, ys: np.ndarray, *, limit: float) -> np.ndarray:
        """Walking distance from (x, y) to each of (xs, ys) in metres (inf beyond `limit`)."""
        if not len(xs):
            return np.zeros(0)
        (e0,), (t0,), (o0,) = self.snap(np.array([x]), np.array([y]))
        a, b, L = self.edge_a[e0], self.edge_b[e0], self.edge_len[e0]
        d = dijkstra(self.graph, directed=False, indices=[a, b], limit=limit + L)
        from_src = np.minimum(t0 + d[0], (L - t0) + d[1])  # to every node, leaving by either end
        edges, along, off = self.snap(xs, ys)
        ea, eb, el = self.edge_a[edges], self.edge_b[edges], self.edge_len[edges]
        via_nodes = np.minimum(from_src[ea] + along, from_src[eb] + (el - along))
        same_edge = edges == e0
        via_nodes[same_edge] = np.minimum(via_nodes[same_edge], np.abs(along[same_edge] - t0))
        return o0 + via_nodes + off
