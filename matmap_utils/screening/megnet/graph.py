"""MEGNet crystal graphs: Gaussian-expanded bonds within the model's cutoff (McHaffie et al. 2025, Sec. 2.2; Chen et al. 2019)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pymatgen.optimization.neighbors import find_points_in_spheres

from matmap_utils.core.parallel import Outcome, parallel_map
from matmap_utils.screening.megnet.symmetry import quotient

NUMERICAL_TOL = 1e-8  # the original's tolerance to drop self-pairs


class MEGNetGraphError(ValueError):
    """A structure cannot be turned into a MEGNet graph (no bonds within the cutoff, bad species)."""


# --------------------------------------------------------------------------------------------
# Graphs
# --------------------------------------------------------------------------------------------
@dataclass
class MEGNetGraph:
    """A crystal graph: sites with their species (possibly several per site) and directed bonds.

    ``site``/``z``/``occupancy`` list every (site, species) pair: ordered sites have one entry
    with occupancy 1.  ``index1 → index2`` are the bonds (both directions) with ``distance`` (Å).
    """

    n_sites: int
    site: np.ndarray  # int64 (S,)
    z: np.ndarray  # int64 (S,)
    occupancy: np.ndarray  # float32 (S,)
    index1: np.ndarray  # int64 (E,)
    index2: np.ndarray  # int64 (E,)
    distance: np.ndarray  # float32 (E,)
    cutoff: float = 5.0
    #: set on a graph reduced to its equivalent-atom classes (:meth:`reduced`), else ``None``:
    #: atoms per node, bonds of the node's representative per bond, and the node of each
    #: original site
    node_weight: np.ndarray | None = None  # float32 (n_sites,)
    bond_weight: np.ndarray | None = None  # float32 (E,)
    expand: np.ndarray | None = None  # int64 (n_original_sites,)

    @property
    def n_bonds(self) -> int:
        return int(self.index1.shape[0])

    @property
    def n_atoms(self) -> int:
        """Sites of the structure (of the original graph, for a reduced one)."""
        return int(self.n_sites if self.expand is None else self.expand.shape[0])

    @property
    def is_reduced(self) -> bool:
        return self.expand is not None

    @property
    def n_isolated(self) -> int:
        if self.is_reduced:
            bonded = np.zeros(self.n_sites, dtype=bool)
            bonded[self.index1] = True
            return int(self.node_weight[~bonded].sum())
        return int(self.n_sites - np.unique(self.index1).size)

    def with_cutoff(self, cutoff: float) -> MEGNetGraph:
        """The same graph with a smaller cutoff (bonds with ``distance <= cutoff`` kept)."""
        if self.is_reduced:
            raise ValueError("change the cutoff before reducing the graph")
        if cutoff > self.cutoff + 1e-12:
            raise ValueError(f"cannot raise the cutoff from {self.cutoff} to {cutoff}")
        keep = self.distance <= np.float32(cutoff)
        if not keep.any():
            raise MEGNetGraphError(f"no bonds within the cutoff of {cutoff} Å (isolated atoms only)")
        return MEGNetGraph(
            self.n_sites,
            self.site,
            self.z,
            self.occupancy,
            self.index1[keep],
            self.index2[keep],
            self.distance[keep],
            float(cutoff),
        )

    def site_labels(self) -> np.ndarray:
        """One integer per site, equal exactly when two sites have the same species and occupancies."""
        if (
            self.site.shape[0] == self.n_sites
            and np.array_equal(self.site, np.arange(self.n_sites))
            and np.all(self.occupancy == 1.0)
        ):
            return self.z.astype(np.int64)
        keys: dict = {}
        comp: list[list] = [[] for _ in range(self.n_sites)]
        for i, z, x in zip(self.site.tolist(), self.z.tolist(), self.occupancy.tolist()):
            comp[i].append((z, x))
        return np.array([keys.setdefault(tuple(sorted(c)), len(keys)) for c in comp], dtype=np.int64)

    def reduced(self) -> MEGNetGraph:
        """The quotient graph on the classes of equivalent atoms (:mod:`matmap_utils.screening.megnet.symmetry`):
        a MEGNet evaluated on it with weighted means gives the full graph's results (up to float
        rounding) at a fraction of the cost; ``expand`` maps every site to its node."""

        if self.is_reduced:
            return self
        q = quotient(self.site_labels(), self.index1, self.index2, self.distance)
        keep = q.rep[q.classes[self.site]] == self.site  # the (site, species) entries of representatives
        return MEGNetGraph(
            q.n_classes,
            q.classes[self.site[keep]],
            self.z[keep],
            self.occupancy[keep],
            q.classes[self.index1[q.bonds]],
            q.classes[self.index2[q.bonds]],
            self.distance[q.bonds],
            self.cutoff,
            node_weight=q.node_weight,
            bond_weight=q.bond_count,
            expand=q.classes,
        )


def structure_arrays(structure) -> dict:
    """What a graph needs from a pymatgen ``Structure``, as plain arrays (cheap to send to workers).

    Raises :class:`MEGNetGraphError` for species the embedding cannot take (dummy species, Z > 94).
    """
    site, z, occ = [], [], []
    for i, s in enumerate(structure):
        for sp, x in s.species.items():
            zz = int(getattr(sp, "Z", 0) or 0)
            if not 1 <= zz <= 94:
                raise MEGNetGraphError(f"site {i}: species {sp} has no MEGNet embedding (Z must be 1..94)")
            site.append(i)
            z.append(zz)
            occ.append(float(x))
    return {
        "lattice": np.ascontiguousarray(structure.lattice.matrix, dtype=float),
        "cart": np.ascontiguousarray(structure.cart_coords, dtype=float),
        "site": np.asarray(site, dtype=np.int64),
        "z": np.asarray(z, dtype=np.int64),
        "occupancy": np.asarray(occ, dtype=np.float32),
    }


def graph_from_arrays(arrays: dict, cutoff: float) -> MEGNetGraph:
    """Periodic fixed-radius graph, as megnet's ``get_graphs_within_cutoff`` (same C routine)."""

    cart = arrays["cart"]
    n_sites = int(cart.shape[0])
    if n_sites == 0:
        raise MEGNetGraphError("the structure has no sites")
    c, n, _, d = find_points_in_spheres(
        cart,
        cart,
        r=float(cutoff),
        pbc=np.array([1, 1, 1], dtype=np.int64),
        lattice=arrays["lattice"],
        tol=NUMERICAL_TOL,
    )
    keep = (c != n) | (d > NUMERICAL_TOL)
    c, n, d = c[keep].astype(np.int64), n[keep].astype(np.int64), d[keep].astype(np.float32)
    if c.size == 0:
        raise MEGNetGraphError(
            f"no bonds within the cutoff of {cutoff} Å: the graph would be empty "
            "(the original MEGNet refuses such structures too)"
        )
    return MEGNetGraph(n_sites, arrays["site"], arrays["z"], arrays["occupancy"], c, n, d, float(cutoff))


def _graph_job(item):
    arrays, cutoff = item
    return graph_from_arrays(arrays, cutoff)


def build_graphs(
    structures: Sequence, cutoff: float, *, keys: Sequence | None = None, n_jobs: int | None = 1, progress: bool = False
) -> list:
    """Graphs of many structures: a list of ``Outcome`` (``.value`` the graph, or ``.error``)."""

    keys = list(range(len(structures))) if keys is None else list(keys)
    items, pre = [], {}
    for k, s in zip(keys, structures):
        try:
            if s is None:
                raise MEGNetGraphError("no structure")
            if isinstance(s, str):  # an error recorded while extracting arrays
                raise MEGNetGraphError(s)
            items.append((k, (s if isinstance(s, dict) else structure_arrays(s), float(cutoff))))
        except Exception as exc:  # noqa: BLE001 - reported per item
            pre[k] = Outcome(k, error=f"{type(exc).__name__}: {exc}", kind="error")
    outs = parallel_map(
        _graph_job,
        [it for _, it in items],
        keys=[k for k, _ in items],
        n_jobs=n_jobs,
        progress=progress,
        desc="MEGNet graphs",
    )
    by_key = {o.key: o for o in outs}
    by_key.update(pre)
    return [by_key[k] for k in keys]
