"""Geometric blocks of the structural descriptor: neighbour lists, partial radial distribution
functions, bond-angle distributions and periodic Voronoi cells (Yamaguchi et al., Sci. Rep. 13,
16799, 2023, Sec. 2.1: the 858-number structural descriptor of RDFs, ADFs and Voronoi statistics).

Atoms fall into three classes, ``Li``, ``O`` and ``X`` (every other element), so the layout is
the same for any chemistry.  A site contributes to class c with weight ``w_c`` = the summed
occupancy of its species in that class; a pair (triplet) is weighted by the product of the
weights.  Every function takes the fully merged settings dictionary ``s`` of
:data:`matmap_utils.materials_map.descriptors.DEFAULT_SETTINGS` (bins, cut-offs, smoothing);
:mod:`~matmap_utils.materials_map.descriptors` assembles the blocks into the descriptor, owns the
layout and the cache, and documents the bins.  Distances are in angstrom, angles in degrees.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.spatial import Voronoi

#: The three atom classes of the structural descriptor.
CLASSES = ("Li", "O", "X")


#: Class pairs of the partial RDFs, in descriptor order.
RDF_PAIRS = (("Li", "Li"), ("Li", "O"), ("Li", "X"), ("O", "O"), ("O", "X"), ("X", "X"))


#: The 10 summary statistics of the ``voronoi:<c>:stats`` block, in order.
VORONOI_STATS = (
    "cn_mean",
    "cn_std",
    "ecn_mean",
    "ecn_std",
    "area_mean",
    "area_std",
    "vol_mean",
    "vol_std",
    "vol_min",
    "vol_max",
)


class DescriptorError(ValueError):
    """A structure cannot be described (message says why)."""


def smooth_histogram(hist: np.ndarray, sigma_bins: float, axis: int = -1) -> np.ndarray:
    """``hist`` convolved along ``axis`` with a Gaussian of standard deviation ``sigma_bins`` (in
    bins; zero padding, truncated at 4 sigma) — the kernel density estimates of every histogram of
    both descriptors; ``sigma_bins <= 0`` returns ``hist`` unchanged."""
    if sigma_bins <= 0:
        return hist
    return gaussian_filter1d(hist, sigma_bins, axis=axis, mode="constant", truncate=4.0)


def class_weights(structure) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) occupancy weight of each site in classes Li, O, X; and total occupancy per site."""
    n = len(structure)
    w = np.zeros((n, 3))
    for i, site in enumerate(structure):
        for sp, occ in site.species.items():
            sym = getattr(sp, "symbol", None) or getattr(getattr(sp, "element", None), "symbol", None)
            if sym is None:  # a dummy species / vacancy: contributes nothing
                continue
            c = 0 if sym == "Li" else 1 if sym == "O" else 2
            w[i, c] += float(occ)
    return w, w.sum(axis=1)


def majority_z(structure) -> np.ndarray:
    """Atomic number of the species with the largest occupancy on each site."""
    return np.array([max(site.species.items(), key=lambda kv: kv[1])[0].Z for site in structure])


def neighbor_list(structure, r: float):
    """Periodic neighbour list of ``structure`` within ``r`` (angstrom), vectorized.

    Returns ``(centre, neighbour, image offsets (n, 3), distances (angstrom), vectors (n, 3))``;
    ``vectors[k]`` points from the centre to the neighbour's periodic image, so its norm is
    ``distances[k]``."""
    ci, ni, offs, d = structure.get_neighbor_list(r)
    ci = ci.astype(np.int64)
    ni = ni.astype(np.int64)
    cart = structure.cart_coords
    vec = cart[ni] + offs @ structure.lattice.matrix - cart[ci]
    return ci, ni, offs.astype(np.int64), d, vec


def partial_rdfs(ci, ni, d, w, s) -> np.ndarray:
    """The six partial RDFs ``rdf:<a>-<b>`` (:data:`RDF_PAIRS`), flattened (6 x ``rdf_nbins``).

    Number-density partial RDF n_ab(r) = sum over a-centres i and b-neighbours j of
    w_a(i) w_b(j) / (N_a 4/3 pi (r_hi^3 - r_lo^3)) on ``rdf_nbins`` bins over (0, ``rdf_rmax``]
    angstrom (units: atoms per cubic angstrom; n_ab -> the density of b at large r), then smoothed
    by ``rdf_smooth_bins``.  ``ci, ni, d``: a neighbour list (:func:`neighbor_list`); ``w``: (N, 3)
    class weights (:func:`class_weights`).  A pair without centres of class a is all zeros.
    """
    nb = s["rdf_nbins"]
    rmax = s["rdf_rmax"]
    edges = np.linspace(0, rmax, nb + 1)
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    keep = d <= rmax
    ci, ni, d = ci[keep], ni[keep], d[keep]
    b = np.minimum((d / rmax * nb).astype(np.int64), nb - 1)
    n_class = w.sum(axis=0)
    out = np.zeros((len(RDF_PAIRS), nb))
    cls = {c: k for k, c in enumerate(CLASSES)}
    for p, (a, bb) in enumerate(RDF_PAIRS):
        ia, ib = cls[a], cls[bb]
        if n_class[ia] <= 0:
            continue
        weights = w[ci, ia] * w[ni, ib]
        if not weights.any():
            continue
        out[p] = np.bincount(b, weights=weights, minlength=nb) / (n_class[ia] * shell)
    return smooth_histogram(out, s["rdf_smooth_bins"], axis=1).ravel()


def bond_angle_histograms(ci, ni, d, vec, w, occ, zmain, s) -> np.ndarray:
    """Bond-angle histograms ``adf:<c>`` per centre class, flattened (3 x ``adf_nbins``, degrees).

    Angles j-i-k between the first-shell neighbours of each centre i, on ``adf_nbins`` bins over
    [0, 180] degrees, summed with weight w_c(i) x occ(j) x occ(k) and divided by the number N_c of
    class-c atoms (so a block sums to the mean number of angles per centre, CN(CN-1)/2), smoothed by
    ``adf_smooth_bins``.

    Neighbours of a centre are the sites of *another element* (``zmain``: the majority element of
    each site) within ``(1 + adf_tol)`` times the nearest such distance — the bonded first shell in
    an ionic solid (O around Li, Li/P/Zr around O, O around P; S around P and P around S).
    """
    n_sites = len(zmain)
    nb = s["adf_nbins"]
    out = np.zeros((3, nb))
    keep = (d <= s["adf_rmax"]) & (zmain[ci] != zmain[ni])
    ci, ni, d, vec = ci[keep], ni[keep], d[keep], vec[keep]
    if len(ci) == 0:
        return out.ravel()
    dmin = np.full(n_sites, np.inf)
    np.minimum.at(dmin, ci, d)
    nn = d <= (1.0 + s["adf_tol"]) * dmin[ci]
    ci, ni, d, vec = ci[nn], ni[nn], d[nn], vec[nn]
    # rows grouped by centre, nearest first; keep at most adf_max_nn neighbours per centre
    order = np.lexsort((d, ci))
    ci, ni, vec = ci[order], ni[order], vec[order]
    counts = np.bincount(ci, minlength=n_sites)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(ci)) - starts[ci]
    sel = rank < s["adf_max_nn"]
    ci, ni, vec = ci[sel], ni[sel], vec[sel]
    counts = np.minimum(counts, s["adf_max_nn"])
    unit = vec / np.linalg.norm(vec, axis=1, keepdims=True)
    nocc = occ[ni]
    angles, centres, pw = [], [], []
    for m in np.unique(counts):
        if m < 2:
            continue
        cs = np.nonzero(counts == m)[0]
        mask = np.isin(ci, cs)
        u = unit[mask].reshape(len(cs), m, 3)
        o = nocc[mask].reshape(len(cs), m)
        iu, ju = np.triu_indices(m, 1)
        cos = np.einsum("cik,cik->ci", u[:, iu], u[:, ju])
        angles.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))).ravel())
        centres.append(np.repeat(cs, len(iu)))
        pw.append((o[:, iu] * o[:, ju]).ravel())
    if not angles:
        return out.ravel()
    ang, cen, pw = np.concatenate(angles), np.concatenate(centres), np.concatenate(pw)
    b = np.minimum((ang / 180.0 * nb).astype(np.int64), nb - 1)
    n_class = w.sum(axis=0)
    for c in range(3):
        if n_class[c] <= 0:
            continue
        out[c] = np.bincount(b, weights=w[cen, c] * pw, minlength=nb) / n_class[c]
    return smooth_histogram(out, s["adf_smooth_bins"], axis=1).ravel()


def voronoi_cells(structure, s) -> dict[str, np.ndarray]:
    """Periodic Voronoi cells of the sites (scipy/qhull on the sites plus their images within a shell).

    Returns per face: ``face_site`` (index of the central site owning it), ``face_area``
    (angstrom^2) and ``face_dist`` (distance to the neighbouring point, angstrom); per site:
    ``volume`` (angstrom^3, pyramids area x distance / 6; they sum to the cell volume).  The shell
    (``vor_shell``, angstrom) grows by 1.6 until every central cell is closed and lies well inside
    it (at most three tries); :class:`DescriptorError` otherwise."""

    n = len(structure)
    shell = float(s["vor_shell"])
    for _attempt in range(3):
        ci, ni, offs, d, vec = neighbor_list(structure, shell)
        img = np.concatenate(
            [np.column_stack([ni, offs]), np.column_stack([np.arange(n), np.zeros((n, 3), dtype=np.int64)])]
        )
        uniq, inv = np.unique(img, axis=0, return_inverse=True)
        cart = structure.cart_coords
        pts = cart[uniq[:, 0]] + uniq[:, 1:] @ structure.lattice.matrix
        centre_rows = inv.ravel()[len(ni) :]  # point index of each central site (image 0)
        try:
            vor = Voronoi(pts)
        except Exception as exc:  # qhull error
            raise DescriptorError(f"Voronoi tessellation failed: {str(exc).splitlines()[0]}") from None
        is_centre = np.full(len(pts), -1, dtype=np.int64)
        is_centre[centre_rows] = np.arange(n)
        ok = True
        for p in centre_rows:
            region = vor.regions[vor.point_region[p]]
            if -1 in region or not region:
                ok = False
                break
            rmax = np.linalg.norm(vor.vertices[region] - pts[p], axis=1).max()
            if 2.0 * rmax > shell:
                ok = False
                break
        if ok:
            break
        shell *= 1.6
    else:
        raise DescriptorError("Voronoi cells are not closed within a 18 A shell (very open structure)")
    rp = vor.ridge_points
    owner_a = is_centre[rp[:, 0]]
    owner_b = is_centre[rp[:, 1]]
    sel = np.nonzero((owner_a >= 0) | (owner_b >= 0))[0]
    rv = [vor.ridge_vertices[k] for k in sel]
    lens = np.fromiter((len(v) for v in rv), dtype=np.int64, count=len(rv))
    flat = np.fromiter((x for v in rv for x in v), dtype=np.int64, count=int(lens.sum()))
    first = np.concatenate([[0], np.cumsum(lens)[:-1]])
    ntri = lens - 2
    tri_ridge = np.repeat(np.arange(len(sel)), ntri)
    k = np.arange(ntri.sum()) - np.repeat(np.cumsum(ntri) - ntri, ntri)
    v0 = vor.vertices[flat[first[tri_ridge]]]
    v1 = vor.vertices[flat[first[tri_ridge] + k + 1]]
    v2 = vor.vertices[flat[first[tri_ridge] + k + 2]]
    tri_area = 0.5 * np.linalg.norm(np.cross(v1 - v0, v2 - v0), axis=1)
    area = np.bincount(tri_ridge, weights=tri_area, minlength=len(sel))
    dist = np.linalg.norm(pts[rp[sel, 0]] - pts[rp[sel, 1]], axis=1)
    # a face belongs to each central endpoint
    face_site = np.concatenate([owner_a[sel][owner_a[sel] >= 0], owner_b[sel][owner_b[sel] >= 0]])
    face_area = np.concatenate([area[owner_a[sel] >= 0], area[owner_b[sel] >= 0]])
    face_dist = np.concatenate([dist[owner_a[sel] >= 0], dist[owner_b[sel] >= 0]])
    volume = np.bincount(face_site, weights=face_area * face_dist / 6.0, minlength=n)
    return {"face_site": face_site, "face_area": face_area, "face_dist": face_dist, "volume": volume}


def weighted_mean_std(x: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Weighted mean and (population) standard deviation of ``x``, in the units of ``x``."""
    m = np.average(x, weights=weights)
    return m, np.sqrt(max(np.average((x - m) ** 2, weights=weights), 0.0))


def voronoi_histograms(structure, w, s) -> np.ndarray:
    """The Voronoi part of the structural descriptor, 3 x 66 numbers (classes Li, O, X).

    Per class c: ``voronoi:<c>:cn`` (coordination number 1..``vor_cn_max`` counting the faces of
    area >= ``vor_min_area_frac`` of the cell surface, smoothed by ``vor_cn_smooth_bins``),
    ``voronoi:<c>:area`` (face areas over [0, ``vor_area_max``] angstrom^2) and
    ``voronoi:<c>:volume`` (cell volumes over [0, ``vor_vol_max``] angstrom^3, larger values in the
    last bin), both smoothed by ``vor_hist_smooth_bins`` — histograms weighted by w_c and divided
    by N_c — then the 10 :data:`VORONOI_STATS` (weighted mean/std of CN, of the effective CN
    (sum A)^2 / sum A^2, of the face area; mean/std/min/max of the cell volume).  A class without
    atoms is all zeros.
    """
    v = voronoi_cells(structure, s)
    n = len(structure)
    fs, fa = v["face_site"], v["face_area"]
    total = np.bincount(fs, weights=fa, minlength=n)
    big = fa >= s["vor_min_area_frac"] * total[fs]
    cn = np.bincount(fs[big], minlength=n).astype(float)
    ecn = total**2 / np.maximum(np.bincount(fs, weights=fa**2, minlength=n), 1e-12)
    vol = v["volume"]
    cn_max, na, nv = s["vor_cn_max"], s["vor_area_nbins"], s["vor_vol_nbins"]
    blocks = []
    n_class = w.sum(axis=0)
    for c in range(3):
        wc = w[:, c]
        size = cn_max + na + nv + len(VORONOI_STATS)
        if n_class[c] <= 0:
            blocks.append(np.zeros(size))
            continue
        cn_b = np.clip(cn.astype(np.int64), 1, cn_max) - 1
        h_cn = smooth_histogram(np.bincount(cn_b, weights=wc, minlength=cn_max) / n_class[c], s["vor_cn_smooth_bins"])
        a_b = np.minimum((fa / s["vor_area_max"] * na).astype(np.int64), na - 1)
        h_a = smooth_histogram(np.bincount(a_b, weights=wc[fs], minlength=na) / n_class[c], s["vor_hist_smooth_bins"])
        v_b = np.minimum((vol / s["vor_vol_max"] * nv).astype(np.int64), nv - 1)
        h_v = smooth_histogram(np.bincount(v_b, weights=wc, minlength=nv) / n_class[c], s["vor_hist_smooth_bins"])
        present = wc > 0
        cn_m, cn_s = weighted_mean_std(cn, wc)
        ecn_m, ecn_s = weighted_mean_std(ecn, wc)
        fw = wc[fs]
        ar_m, ar_s = weighted_mean_std(fa, fw) if fw.sum() > 0 else (0.0, 0.0)
        v_m, v_s = weighted_mean_std(vol, wc)
        stats = np.array([cn_m, cn_s, ecn_m, ecn_s, ar_m, ar_s, v_m, v_s, vol[present].min(), vol[present].max()])
        blocks.append(np.concatenate([h_cn, h_a, h_v, stats]))
    return np.concatenate(blocks)
