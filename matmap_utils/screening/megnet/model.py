"""MEGNet in torch: the pretrained Materials Project models, offline, identical to the original.

The original MEGNet (Chen et al., Chem. Mater. 31, 3564 (2019); ``megnet==1.3.2``) is a
TensorFlow/Keras library.  This module reads the Keras HDF5 weights and the JSON configuration of
the pretrained models with ``h5py``/``json`` only and evaluates *exactly the same computation* in
torch: the Keras functional graph stored in the HDF5 file (``model_config``) is interpreted layer
by layer (Embedding, Dense, MEGNetLayer, Add, Set2Set, Concatenate), so the mp-2019 formation
energy model (Set2Set T=2, cutoff 5 Å) and the mp-2018 band-gap model (T=3, cutoff 4 Å) run from
the same code.  Equality with the original is proven by ``tests/test_megnet.py`` against fixtures
produced by the original Keras implementation (``tests/fixtures/megnet/make_reference.py``):
≤ 1e-4 eV(/atom) on predictions, ≤ 1e-4 on site features.

Faithful details of the original (megnet 1.3.2) reproduced here
------------------------------------------------------------------
* Graph (``CrystalGraph``/``StructureGraphFixedRadius``): every ordered pair of sites (i, j, image)
  with 0 < d ≤ cutoff from pymatgen's C-accelerated ``find_points_in_spheres`` (both directions
  are edges), distances in float32, Gaussian expansion ``exp(-(d - c_k)² / width²)`` with the
  ``centers``/``width`` of the JSON; state input ``[0, 0]``.  A structure without any bond inside
  the cutoff is an error (:class:`MEGNetGraphError`, the original raises ``RuntimeError``); sites
  without neighbours ("isolated atoms") are kept exactly as the original does (it logs a warning;
  their mean-aggregated bond message is 0); we count them in ``MEGNetGraph.n_isolated`` and in the
  ``n_isolated`` column of :func:`pool_predictions`.
* ``softplus2(x) = softplus(x) - ln 2``; MEGNetLayer φ_e, φ_v, φ_u are 3-layer MLPs whose *last*
  layer is linear (``_mlp`` returns the pre-activation); mean pooling of bonds → atoms
  (``unsorted_segment_mean``) and bonds/atoms → state.
* Set2Set: LSTM with ``hard_sigmoid`` gates (0.2·x + 0.5 clipped to [0, 1]) and tanh; as in the
  original the cell state is *not* carried between the T steps (``c`` is reset to 0 each step).
* Target scaler from the JSON (``DummyScaler`` when absent — both mirror models;
  ``StandardScaler`` is supported).

Site features V0..V3 (AtomSets, McHaffie et al. 2025) — convention
--------------------------------------------------------------------
``V0`` is the output of the embedding layer (16 numbers per site: the learned elemental
embedding of the *formation-energy* model; for a disordered site the occupancy-weighted sum
Σ_i x_i·W_{Z_i} of its species' embeddings, vacancies contributing nothing).  ``Vk`` (k = 1, 2, 3)
is the node output (32 numbers) of the k-th MEGNetLayer — ``MEGNetDescriptor.get_atom_features(
level=k)``, which is what maml's ``MEGNetSite(level=k)`` returns; it is the block's update,
before the residual ``Add`` (the original's layers ``meg_net_layer_k``, output 0).  Disordered
structures use the weighted embedding as the node input of the rest of the network too (the
paper's "modified MEGNet"); their predictions are not part of the equality proof (the original
cannot take them).  Note: the elemental embedding table megnet ships for ``CrystalGraphDisordered``
(``elemental_embedding_1MEGNet_layer.json``) is *not* this model's embedding layer (it differs
by up to 3.1); we use the embedding layer of the formation-energy model, as the paper states.

API
---
* :func:`load_model` ``("formation_energy" | "band_gap")`` → :class:`MEGNetModel` (cached);
  :meth:`MEGNetModel.from_files` ``(hdf5, json)``; the files are read by
  :mod:`matmap_utils.screening.megnet.weights`, the layers' torch operations are in
  :mod:`matmap_utils.screening.megnet.ops`.
* ``model.structure_to_graph(structure)`` → :class:`MEGNetGraph`;
  ``model.predict(structures, ids=None, batch_size=..., n_jobs=1)`` → DataFrame with one column
  (``formation_energy_eV_atom`` or ``band_gap_eV``) and ``attrs["failures"]``;
  ``model.atom_features(structures, layers=(0, 1, 2, 3))`` → list of ``{layer: (n_sites, d)
  float32 array}``; ``model.predict_graphs`` / ``model.run_graphs`` on prebuilt graphs.
* :func:`predict_structures` ``(structures, ids=None)`` → DataFrame with both
  ``formation_energy_eV_atom`` and ``band_gap_eV``.
* :func:`pool_predictions` ``(df_structures, cache=True)`` → ``(predictions, failures)``;
  :func:`pool_features` ``(df_structures, layers=(0,1,2,3), cache=True)`` →
  :class:`SiteFeatures` (concatenated float32 arrays + offsets; ``feats[material_id]`` →
  ``{layer: array}``; ``feats.failures``).  Both cache per chunk of structures in
  ``compute_cache_dir("megnet")``, keyed by ``hash_structure(structure, model sha, settings)``.
* :func:`megnet_vs_mp_band_gaps` → ``(joined frame, metrics)``: our band gaps against the DFT band
  gaps of ``ionnet/Li-MP-final.csv``.
* Inference is batched on concatenated graphs (no padding, index tensors) on ``torch_device()``
  (GPU when present).  On CPU: batches of at most 10,000 bonds and an automatic thread count
  (1 thread or all cores, whichever the first batches show faster; ``MATMAP_MEGNET_THREADS``
  overrides); the pool functions parallelise over chunks of structures with ``parallel_map``
  worker processes (1 thread each).
* Exact-arithmetic shortcuts (results change only by float32 rounding, checked by the fixture
  tests, which run through all of them):

  - the network runs on the *quotient graph* of equivalent atoms (:meth:`MEGNetGraph.reduced`,
    :mod:`matmap_utils.screening.megnet.symmetry`): atoms that message passing cannot tell apart (every
    symmetry orbit, found by Weisfeiler–Lehman refinement with bond lengths) have identical
    features at every layer, so one node per class and one bond per distinct (neighbour class,
    length) suffice, with the means and the Set2Set attention weighted by how many atoms and
    bonds each stands for; site features are expanded back to every site.  1.5x fewer bonds on
    MP Li compounds (``MATMAP_MEGNET_REDUCE=0`` turns it off);
  - the first φ_e layer is applied blockwise (v_i W_a + v_j W_b + e W_c + u W_d instead of the
    concatenation); the bond pre-block runs once per distinct distance of a batch; the ``- ln 2``
    of softplus2 is folded into the next layer's bias;
  - on a CPU, bias + softplus (and the first φ_e layer's gathers) run as fused numba kernels
    with a vectorised exp/log1p (:mod:`matmap_utils.screening.megnet.kernels`; ``MATMAP_MEGNET_FUSED=0``
    uses torch ops).

  The numba kernels load once per process (about 2 s from numba's disk cache, 7 s to compile
  the first time); a run of fewer than ``FAST_MIN_BONDS`` bonds in a process that has not
  loaded them yet (one CIF from the CLI) uses the plain torch path instead.
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from matmap_utils.core import settings
from matmap_utils.core.backends import in_worker
from matmap_utils.core.runtime import torch_device
from matmap_utils.data import registry
from matmap_utils.screening.megnet.graph import (
    MEGNetGraph,
    MEGNetGraphError,
    build_graphs,
    graph_from_arrays,
    structure_arrays,
)
from matmap_utils.screening.megnet.kernels import available as kernels_available
from matmap_utils.screening.megnet.kernels import edge_softplus_, softplus_bias_
from matmap_utils.screening.megnet.ops import LN2, activation, gather, seg_sum
from matmap_utils.screening.megnet.symmetry import available
from matmap_utils.screening.megnet.weights import file_sha256, read_keras_hdf5, read_model_json

#: Mirror paths of the pretrained models (HDF5; the JSON is the same path + ``.json``).
MODEL_FILES = {
    "formation_energy": "megnet/mp-2019.4.1/formation_energy.hdf5",
    "band_gap": "megnet/mp-2018.6.1/band_gap_regression.hdf5",
    # the band-gap architecture with a sigmoid output: P(band gap > 0), i.e. P(non-metal)
    "nonmetal": "megnet/mp-2018.6.1/band_classification.hdf5",
    # log10 of the Voigt-Reuss-Hill bulk and shear moduli (GPa), 12,179 MP elastic tensors
    "log10K": "megnet/mp-2019.4.1/log10K.hdf5",
    "log10G": "megnet/mp-2019.4.1/log10G.hdf5",
}


#: Column name of each model's prediction.
TARGETS = {
    "formation_energy": "formation_energy_eV_atom",
    "band_gap": "band_gap_eV",
    "nonmetal": "p_nonmetal",
    "log10K": "log10_K_VRH_GPa",
    "log10G": "log10_G_VRH_GPa",
}


# --------------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------------
#: seconds an automatic thread-count decision is reused before it is timed again
AUTO_THREADS_TTL_S = 120.0


#: a run of fewer bonds than this (~13 structures at 5 Å) skips the numba kernels unless this
#: process has already loaded them (their one-time load costs more than they save there)
FAST_MIN_BONDS = 20_000


_KERNELS_USED = False


def usable_cores() -> int:
    """Cores this process may use for torch threads: 1 in a backend's worker process
    (:func:`matmap_utils.core.backends.in_worker`), else the CPU affinity."""
    if in_worker():
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """Torch threads for CPU inference: ``MATMAP_MEGNET_THREADS`` if set (> 0), else 0 = automatic
    (see :meth:`MEGNetModel.run_graphs`)."""
    return settings.get("MATMAP_MEGNET_THREADS")


def default_reduce() -> bool:
    """Whether models evaluate quotient graphs: ``MATMAP_MEGNET_REDUCE`` (default 1) and numba present."""

    return settings.get("MATMAP_MEGNET_REDUCE") and available()


class MEGNetModel:
    """A pretrained MEGNet model evaluated in torch (see the module docstring)."""

    def __init__(self, hdf5: str | os.PathLike, json_path: str | os.PathLike, name: str | None = None, device=None):

        self.hdf5, self.json_path = Path(hdf5), Path(json_path)
        self.name = name or self.hdf5.stem
        self.target = TARGETS.get(self.name, "prediction")
        conf = read_model_json(self.json_path)
        self.centers, self.width, self.cutoff = conf.centers, conf.width, conf.cutoff
        self.scaler, self.metadata = conf.scaler, conf.metadata
        self.sha = file_sha256(self.hdf5)[:16] + file_sha256(self.json_path)[:8]
        self.layers, weights, self.inputs, self.outputs = read_keras_hdf5(self.hdf5)
        self.device = torch.device(device) if device is not None else torch_device()
        #: torch threads during CPU inference; 0 = automatic: a run of >= 8 batches times its first
        #: batch with 1 thread and its second with every usable core and keeps the faster (per
        #: bond) for the rest, and for the next ``AUTO_THREADS_TTL_S`` seconds of later runs.  All cores were 1.7x
        #: faster than 1 thread on an idle 2-core machine, but 15x *slower* with one other busy
        #: process (OpenMP threads spin-wait for a core) — neither fixed choice is safe.
        #: ``MATMAP_MEGNET_THREADS=n`` fixes it; worker processes of ``pool_compute(n_jobs>1)``
        #: use 1 thread each.
        self.threads = default_threads()
        #: evaluate on the quotient graph of equivalent atoms (:meth:`MEGNetGraph.reduced`;
        #: same results up to float rounding, ~1.5x fewer bonds on MP structures);
        #: ``MATMAP_MEGNET_REDUCE=0`` turns it off
        self.reduce_graphs = default_reduce()
        #: fused numba bias+softplus kernels (:mod:`matmap_utils.screening.megnet.kernels`) on a CPU
        self._fused = self.device.type == "cpu" and kernels_available() and settings.get("MATMAP_MEGNET_FUSED")
        #: thread count chosen by the last automatic decision, and when (``time.monotonic``)
        self.last_threads: int | None = None
        self._threads_decided_at = -math.inf
        self._w = {ln: {k: torch.from_numpy(v).to(self.device) for k, v in d.items()} for ln, d in weights.items() if d}
        self._centers_t = torch.tensor(self.centers, dtype=torch.float32, device=self.device)
        self.megnet_layers = [ln for ln, cls, _, _ in self.layers if cls == "MEGNetLayer"]
        self.embedding_layer = next((ln for ln, cls, _, _ in self.layers if cls == "Embedding"), None)
        if self.embedding_layer is None or len(self.inputs) != 7:
            raise ValueError(f"{self.hdf5}: expected a MEGNet model with an atom embedding and 7 inputs")
        consumers = self._count_consumers()
        self._fold_softplus_shift(consumers)
        self._per_distance = self._per_distance_layers(consumers)

    def _count_consumers(self) -> dict[str, list[str]]:
        """The layers that read each layer (``self._n_consumers`` counts them, to free
        intermediate tensors as soon as their last consumer has run)."""
        self._n_consumers: dict[str, int] = {}
        consumers: dict[str, list[str]] = {}
        for lname, _, _, inbound in self.layers:
            for src, _ in inbound:
                self._n_consumers[src] = self._n_consumers.get(src, 0) + 1
                consumers.setdefault(src, []).append(lname)
        return consumers

    def _fold_softplus_shift(self, consumers: dict[str, list[str]]) -> None:
        """Speed-up that changes no result beyond float32 rounding: softplus2(x) @ W + b ==
        softplus(x) @ W + (b - ln2 * sum_rows(W)).  A Dense layer with softplus2 feeding only Dense
        layers emits softplus(x) (``self._emit_softplus``) and its consumers use shifted biases
        (``self._shifted_bias``); the same inside the MEGNetLayer MLPs (``sbias_*`` weights)."""
        cls_of = {ln: (cls, cfg) for ln, cls, cfg, _ in self.layers}
        self._emit_softplus: set[str] = set()
        self._shifted_bias: dict[str, Any] = {}
        for ln, (cls, cfg) in cls_of.items():
            if (
                cls == "Dense"
                and cfg.get("activation") == "softplus2"
                and consumers.get(ln)
                and all(cls_of[c][0] == "Dense" for c in consumers[ln])
            ):
                self._emit_softplus.add(ln)
                for c in consumers[ln]:
                    w = self._w[c]
                    bias = w.get("bias", torch.zeros(w["kernel"].shape[1], device=self.device))
                    self._shifted_bias[c] = bias - LN2 * w["kernel"].sum(0)
        # the hidden layers of the MEGNetLayer MLPs use softplus2 when configured so
        for ln in self.megnet_layers:
            w = self._w[ln]
            for key in list(w):
                if key.startswith("weight_") and not key.endswith("_0"):
                    prefix, k = key[len("weight_") :].rsplit("_", 1)
                    w[f"sbias_{prefix}_{k}"] = w[f"bias_{prefix}_{k}"] - LN2 * w[key].sum(0)

    def _per_distance_layers(self, consumers: dict[str, list[str]]) -> set[str]:
        """Dense layers fed (directly or through Dense layers) by the bond input: evaluated once per
        distinct distance of a batch and gathered afterwards (same result, fewer rows)."""
        cls_of = {ln: cls for ln, cls, _, _ in self.layers}
        per_distance: set[str] = set()
        frontier = [self.inputs[1]]
        while frontier:
            src = frontier.pop()
            for c in consumers.get(src, []):
                if cls_of[c] == "Dense" and c not in per_distance:
                    per_distance.add(c)
                    frontier.append(c)
        return per_distance

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def from_files(cls, hdf5, json_path=None, name=None, device=None) -> MEGNetModel:
        json_path = json_path or str(hdf5) + ".json"
        return cls(hdf5, json_path, name=name, device=device)

    def __repr__(self) -> str:
        return (
            f"MEGNetModel({self.name!r}, cutoff={self.cutoff}, blocks={len(self.megnet_layers)}, device={self.device})"
        )

    @property
    def settings(self) -> dict:
        """What defines this model's outputs (for cache keys)."""
        return {"model": self.name, "sha": self.sha, "cutoff": self.cutoff, "impl": 2}

    def structure_to_graph(self, structure) -> MEGNetGraph:
        """The model's crystal graph of one structure (cutoff of the JSON)."""
        return graph_from_arrays(structure_arrays(structure), self.cutoff)

    # ---- evaluation ---------------------------------------------------------------------------
    def _batch_tensors(self, graphs: Sequence[MEGNetGraph]):

        dev = self.device
        n_sites = np.array([g.n_sites for g in graphs], dtype=np.int64)
        n_bonds = np.array([g.n_bonds for g in graphs], dtype=np.int64)
        site_off = np.concatenate([[0], np.cumsum(n_sites)[:-1]])
        site = np.concatenate([g.site + o for g, o in zip(graphs, site_off)])
        z = np.concatenate([g.z for g in graphs])
        occ = np.concatenate([g.occupancy for g in graphs])
        i1 = np.concatenate([g.index1 + o for g, o in zip(graphs, site_off)])
        i2 = np.concatenate([g.index2 + o for g, o in zip(graphs, site_off)])
        dist = np.concatenate([g.distance for g in graphs])
        gnode = np.repeat(np.arange(len(graphs)), n_sites)
        gbond = np.repeat(np.arange(len(graphs)), n_bonds)
        t = lambda a, dt=torch.int64: torch.from_numpy(np.ascontiguousarray(a)).to(dev, dt)  # noqa: E731
        out = {
            "n_graphs": len(graphs),
            "n_nodes": int(n_sites.sum()),
            "site": t(site),
            "z": t(z),
            "occ": t(occ, torch.float32),
            "index1": t(i1),
            "index2": t(i2),
            "dist": t(dist, torch.float32),
            "gnode": t(gnode),
            "gbond": t(gbond),
            "n_atoms": np.array([g.n_atoms for g in graphs], dtype=np.int64),
            "weighted": False,
        }
        if any(g.is_reduced for g in graphs):
            # weights of the quotient graphs (ones for a full graph): atoms per node, bonds per
            # bond (of the node's representative) and bonds of the structure per bond
            nw = np.concatenate([g.node_weight if g.is_reduced else np.ones(g.n_sites, np.float32) for g in graphs])
            bw = np.concatenate([g.bond_weight if g.is_reduced else np.ones(g.n_bonds, np.float32) for g in graphs])
            out.update(
                weighted=True, nw=t(nw, torch.float32), bw=t(bw, torch.float32), ew=t(nw[i1] * bw, torch.float32)
            )
        return out

    def _megnet_layer(self, name, cfg, x, b):
        """MEGNetLayer: φ_e on (v_i, v_j, e, u), mean → atoms, φ_v, means → state, φ_u."""

        w = self._w[name]
        act = activation(cfg.get("activation"))
        v, e, u = x[0], x[1], x[2]
        i1, i2, gnode, gbond = b["index1"], b["index2"], b["gnode"], b["gbond"]
        n_nodes, n_graphs = v.shape[0], u.shape[0]
        dv, de = v.shape[1], e.shape[1]

        fold = cfg.get("activation") == "softplus2"
        fused = fold and b.get("fused", False)

        def mlp_fused(h, prefix, act0=None):
            """The same MLP with the fused bias+softplus kernels: ``act0`` is the activated
            (softplus, ``- ln 2`` folded into the next bias) first layer when given."""
            a = act0 if act0 is not None else softplus_bias_(h @ w[f"weight_{prefix}_0"], w[f"bias_{prefix}_0"])
            k = 1
            while f"weight_{prefix}_{k + 1}" in w:
                a = softplus_bias_(a @ w[f"weight_{prefix}_{k}"], w[f"sbias_{prefix}_{k}"])
                k += 1
            return torch.addmm(w[f"sbias_{prefix}_{k}"], a, w[f"weight_{prefix}_{k}"])

        def mlp(h, prefix, first=None):
            if fused and f"weight_{prefix}_1" in w:
                return mlp_fused(h, prefix)
            k = 0
            out = first if first is not None else torch.addmm(w[f"bias_{prefix}_0"], h, w[f"weight_{prefix}_0"])
            while f"weight_{prefix}_{k + 1}" in w:
                k += 1
                if fold:  # softplus2(x) @ W + b = softplus(x) @ W + (b - ln2 * colsum W)
                    out = torch.addmm(
                        w[f"sbias_{prefix}_{k}"], torch.nn.functional.softplus(out), w[f"weight_{prefix}_{k}"]
                    )
                else:
                    out = torch.addmm(w[f"bias_{prefix}_{k}"], act(out), w[f"weight_{prefix}_{k}"])
            return out  # the original's _mlp returns the last pre-activation (linear last layer)

        # φ_e: concat(v[i1], v[i2], e, u[gbond]) @ W0 computed blockwise (same sum, 4x fewer FLOPs)
        w0 = w["weight_e_0"]
        if fused and "weight_e_1" in w:  # gathers, sums and softplus in one pass over the bonds
            act0 = edge_softplus_(
                e @ w0[2 * dv : 2 * dv + de],
                v @ w0[:dv],
                i1,
                v @ w0[dv : 2 * dv],
                i2,
                torch.addmm(w["bias_e_0"], u, w0[2 * dv + de :]),
                gbond,
            )
            e_p = mlp_fused(None, "e", act0)
        else:
            first = e @ w0[2 * dv : 2 * dv + de]
            first += gather(v @ w0[:dv], i1)
            first += gather(v @ w0[dv : 2 * dv], i2)
            first += gather(torch.addmm(w["bias_e_0"], u, w0[2 * dv + de :]), gbond)
            e_p = mlp(None, "e", first)
        if not b["weighted"]:
            counts_v = torch.bincount(i1, minlength=n_nodes).clamp_(min=1).to(e_p.dtype)[:, None]
            b_ei = seg_sum(e_p, i1, n_nodes) / counts_v
        else:  # quotient graph: each bond stands for bw bonds of its atom
            bw = b["bw"]
            counts_v = torch.bincount(i1, weights=bw, minlength=n_nodes).clamp_(min=1).to(e_p.dtype)[:, None]
            b_ei = seg_sum(e_p * bw[:, None], i1, n_nodes) / counts_v
        v_p = mlp(torch.cat([b_ei, v, gather(u, gnode)], dim=1), "v")
        if not b["weighted"]:
            counts_e = torch.bincount(gbond, minlength=n_graphs).clamp_(min=1).to(e_p.dtype)[:, None]
            counts_n = torch.bincount(gnode, minlength=n_graphs).clamp_(min=1).to(e_p.dtype)[:, None]
            b_eu = seg_sum(e_p, gbond, n_graphs) / counts_e
            b_vu = seg_sum(v_p, gnode, n_graphs) / counts_n
        else:  # ... and for nw * bw bonds of the structure; each node for nw atoms
            ew, nw = b["ew"], b["nw"]
            counts_e = seg_sum(ew, gbond, n_graphs).clamp_(min=1)[:, None]
            counts_n = seg_sum(nw, gnode, n_graphs).clamp_(min=1)[:, None]
            b_eu = seg_sum(e_p * ew[:, None], gbond, n_graphs) / counts_e
            b_vu = seg_sum(v_p * nw[:, None], gnode, n_graphs) / counts_n
        u_p = mlp(torch.cat([b_eu, b_vu, u], dim=1), "u")
        return [v_p, e_p, u_p]

    def _set2set(self, name, cfg, feats, index, n_graphs, weight=None):
        """Set2Set readout; ``weight``: how many set members each row stands for (quotient graph)."""

        w = self._w[name]
        n_hidden = int(cfg["n_hidden"])
        rec = activation(cfg.get("recurrent_activation", "hard_sigmoid"))
        act = activation(cfg.get("activation_lstm", "tanh"))
        m = feats @ w["x_to_m_weight"]
        if "x_to_m_bias" in w:
            m = m + w["x_to_m_bias"]
        q_star = torch.zeros(n_graphs, 2 * n_hidden, dtype=m.dtype, device=m.device)
        for _ in range(int(cfg["T"])):
            z = q_star @ w["recurrent_kernel"]
            if "recurrent_bias" in w:
                z = z + w["recurrent_bias"]
            i = rec(z[:, :n_hidden])
            c = i * act(z[:, 2 * n_hidden : 3 * n_hidden])  # f * c with c = 0: the original never carries c
            o = rec(z[:, 3 * n_hidden :])
            h = o * act(c)
            e = (m * gather(h, index)).sum(dim=1)
            emax = torch.full((n_graphs,), -torch.inf, dtype=e.dtype, device=e.device)
            emax = emax.scatter_reduce(0, index, e, reduce="amax", include_self=True)
            ex = torch.exp(e - gather(emax, index))
            if weight is not None:
                ex = ex * weight
            a = ex / gather(seg_sum(ex, index, n_graphs), index)
            r = seg_sum(m * a[:, None], index, n_graphs)
            q_star = torch.cat([h, r], dim=1)
        return q_star

    def _forward(self, b: dict, keep: set[str]) -> dict:
        """Evaluate the Keras graph on a batch; return the outputs of the layers in ``keep``."""

        n_graphs, n_nodes = b["n_graphs"], b["n_nodes"]
        inputs = {self.inputs[0]: [None]}  # the embedding reads site/z/occupancy from the batch
        # bond input: Gaussian expansion of the distinct distances (rows gathered back later)
        udist, inverse = torch.unique(b["dist"], return_inverse=True)
        g = udist[:, None] - self._centers_t[None, :]
        g = g.square_().mul_(-1.0 / self.width**2).exp_()
        inputs[self.inputs[1]] = [g]
        compressed = {self.inputs[1]}
        inputs[self.inputs[2]] = [torch.zeros(n_graphs, 2, dtype=self._centers_t.dtype, device=self.device)]
        for k, key in zip(range(3, 7), ("index1", "index2", "gnode", "gbond")):
            inputs[self.inputs[k]] = [b[key]]
        out: dict[str, list] = dict(inputs)
        remaining = dict(self._n_consumers)
        result = {}
        for name, cls, cfg, inbound in self.layers:
            if cls == "InputLayer":
                continue
            if name in self._per_distance:
                x = [out[src][t] for src, t in inbound]
                compressed.add(name)
            else:
                x = [gather(out[src][t], inverse) if src in compressed else out[src][t] for src, t in inbound]
            if cls == "Embedding":
                if inbound[0][0] != self.inputs[0]:
                    raise ValueError(f"embedding layer {name} does not read the atom input")
                emb = self._w[name]["embeddings"]
                y = [seg_sum(b["occ"][:, None] * gather(emb, b["z"]), b["site"], n_nodes)]
            elif cls == "Dense":
                w = self._w[name]
                bias = self._shifted_bias.get(name, w.get("bias"))
                if b.get("fused") and cfg.get("activation") == "softplus2":  # one pass: bias + softplus
                    y = [softplus_bias_(x[0] @ w["kernel"], bias, 0.0 if name in self._emit_softplus else -LN2)]
                else:
                    h = torch.addmm(bias, x[0], w["kernel"]) if bias is not None else x[0] @ w["kernel"]
                    if name in self._emit_softplus:
                        y = [torch.nn.functional.softplus(h)]  # consumers' biases carry the -ln2
                    else:
                        y = [activation(cfg.get("activation"))(h)]
            elif cls == "MEGNetLayer":
                y = self._megnet_layer(name, cfg, x, b)
            elif cls == "Add":
                s = x[0]
                for t in x[1:]:
                    s = s + t
                y = [s]
            elif cls == "Concatenate":
                y = [torch.cat(x, dim=-1)]
            elif cls == "Set2Set":
                weight = None
                if b["weighted"]:
                    src = inbound[1][0]
                    if src == self.inputs[5]:
                        weight = b["nw"]
                    elif src == self.inputs[6]:
                        weight = b["ew"]
                    else:
                        raise ValueError(f"Set2Set layer {name} reads neither the atom nor the bond index")
                y = [self._set2set(name, cfg, x[0], x[1], n_graphs, weight)]
            else:
                raise ValueError(f"layer class {cls} ({name}) is not supported")
            out[name] = y
            if name in keep:
                result[name] = y
            for src, _ in inbound:
                remaining[src] -= 1
                if remaining[src] == 0 and src not in keep:
                    out.pop(src, None)
        for src, _t in self.outputs:
            result.setdefault(src, out[src])
        return result

    def feature_layer_names(self, layers: Iterable[int]) -> dict[int, tuple[str, int]]:
        """Keras layer (name, output index) of each feature level: 0 → embedding, k → k-th MEGNetLayer."""
        names = {}
        for k in layers:
            k = int(k)
            if k == 0:
                names[k] = (self.embedding_layer, 0)
            elif 1 <= k <= len(self.megnet_layers):
                names[k] = (self.megnet_layers[k - 1], 0)
            else:
                raise ValueError(f"feature layer {k} does not exist (0..{len(self.megnet_layers)})")
        return names

    def _batches(self, graphs: Sequence[MEGNetGraph], batch_size: int, max_bonds: int):
        start = 0
        while start < len(graphs):
            stop, bonds = start, 0
            while (
                stop < len(graphs)
                and stop - start < batch_size
                and (stop == start or bonds + graphs[stop].n_bonds <= max_bonds)
            ):
                bonds += graphs[stop].n_bonds
                stop += 1
            yield start, stop
            start = stop

    @property
    def default_batch_size(self) -> int:
        """At most 256 structures per batch; on a CPU the bond budget decides (below)."""
        return 256

    @property
    def default_max_bonds(self) -> int:
        """Bonds per batch: 10,000 on a CPU — a batch's activations then stay in the caches; on
        256 mp_li structures 8-12k bonds were 1.45x (1 thread) to 1.5x (2 threads) faster than
        16 structures per batch (~24k bonds) for the formation-energy model — and 200,000 on a GPU."""
        return 10_000 if self.device.type == "cpu" else 200_000

    def run_graphs(
        self,
        graphs: Sequence[MEGNetGraph],
        layers: Iterable[int] = (),
        *,
        batch_size: int | None = None,
        max_bonds: int | None = None,
    ) -> tuple[np.ndarray, list[dict]]:
        """Predictions (scaled back) and the requested site features of prebuilt graphs.

        Batches hold at most ``batch_size`` structures and ``max_bonds`` bonds (a structure with
        more bonds forms a batch of its own); defaults: :attr:`default_batch_size`,
        :attr:`default_max_bonds`."""

        batch_size = batch_size or self.default_batch_size
        max_bonds = max_bonds or self.default_max_bonds
        old_threads = torch.get_num_threads()
        if self.device.type == "cpu" and self.threads > 0:
            torch.set_num_threads(min(self.threads, usable_cores()))
        try:
            return self._run_graphs(graphs, layers, batch_size, max_bonds)
        finally:
            torch.set_num_threads(old_threads)

    def _thread_plan(self, n_batches: int):
        """Thread count per batch: fixed, or (automatic) 1 thread for batch 0 and all cores for
        batch 1 of a run of >= 8 batches, then the faster per bond (``None`` = decide now); a
        decision younger than ``AUTO_THREADS_TTL_S`` is reused without timing."""
        if self.device.type != "cpu":
            return lambda i: 0
        if self.threads > 0:
            return lambda i: min(self.threads, usable_cores())
        cores = usable_cores()
        fresh = time.monotonic() - self._threads_decided_at < AUTO_THREADS_TTL_S
        if cores == 1 or n_batches < 8 or (fresh and self.last_threads):
            return lambda i: 1 if cores == 1 else (self.last_threads or 1)
        return lambda i: (1, cores)[i] if i < 2 else None

    def _run_graphs(self, graphs, layers, batch_size, max_bonds):

        graphs = list(graphs)
        for g in graphs:
            if abs(g.cutoff - self.cutoff) > 1e-9:
                raise ValueError(f"graph cutoff {g.cutoff} Å differs from the model's {self.cutoff} Å")
        # The numba kernels (quotient graphs, fused softplus) load once per process (~2 s from
        # numba's disk cache, ~7 s to compile): a small run in a process that has not loaded
        # them yet uses torch ops instead.
        global _KERNELS_USED
        fast = _KERNELS_USED or sum(g.n_bonds for g in graphs) >= FAST_MIN_BONDS
        if self.reduce_graphs and fast:
            graphs = [g.reduced() for g in graphs]
        fused = self._fused and fast
        _KERNELS_USED = _KERNELS_USED or (fast and (self.reduce_graphs or fused))
        lmap = self.feature_layer_names(layers)
        keep = {n for n, _ in lmap.values()}
        preds = np.empty(len(graphs), dtype=np.float64)
        feats: list[dict] = [dict() for _ in graphs]
        ((out_name, out_idx),) = self.outputs
        batches = list(self._batches(graphs, batch_size, max_bonds))
        plan = self._thread_plan(len(batches))
        trial = {}  # threads -> [seconds, bonds] of the timed batches
        chosen = None
        cpu = self.device.type == "cpu"
        with torch.inference_mode():
            for i, (start, stop) in enumerate(batches):
                chunk = graphs[start:stop]
                th = plan(i)
                if th is None:  # automatic: batches 0 and 1 were timed
                    if chosen is None:
                        chosen = min(trial, key=lambda k: trial[k][0] / max(trial[k][1], 1))
                        self.last_threads, self._threads_decided_at = chosen, time.monotonic()
                    th = chosen
                if cpu and th and th != torch.get_num_threads():
                    torch.set_num_threads(th)
                t0 = time.perf_counter()
                b = self._batch_tensors(chunk)
                b["fused"] = fused
                res = self._forward(b, keep)
                y = res[out_name][out_idx][:, 0].double().cpu().numpy()
                if cpu and i < 2:
                    tb = trial.setdefault(th, [0.0, 0])
                    tb[0] += time.perf_counter() - t0
                    tb[1] += sum(g.n_bonds for g in chunk)
                preds[start:stop] = self.scaler.inverse_transform(y, b["n_atoms"])
                if lmap:
                    splits = np.cumsum([g.n_sites for g in chunk])[:-1]
                    for k, (ln, t) in lmap.items():
                        arr = res[ln][t].float().cpu().numpy()
                        for j, part in enumerate(np.split(arr, splits)):
                            g = chunk[j]
                            feats[start + j][k] = part[g.expand] if g.is_reduced else part
        return preds, feats

    def predict_graphs(self, graphs: Sequence[MEGNetGraph], batch_size: int | None = None) -> np.ndarray:
        return self.run_graphs(graphs, (), batch_size=batch_size)[0]

    def _graphs_or_failures(self, structures, ids, n_jobs):
        structures = list(structures)
        ids = list(range(len(structures))) if ids is None else list(ids)
        outs = build_graphs(structures, self.cutoff, keys=ids, n_jobs=n_jobs)
        ok = [o for o in outs if o.ok]
        fails = pd.DataFrame([{"id": o.key, "reason": o.error} for o in outs if not o.ok], columns=["id", "reason"])
        return ok, fails

    def predict(self, structures, ids=None, *, batch_size: int | None = None, n_jobs: int | None = 1) -> pd.DataFrame:
        """Predictions for structures: DataFrame indexed by ``ids`` (default 0..n-1), one column
        named after the target; structures that fail are left out and listed in ``attrs["failures"]``."""
        ok, fails = self._graphs_or_failures(structures, ids, n_jobs)
        preds = self.predict_graphs([o.value for o in ok], batch_size=batch_size) if ok else np.array([])
        df = pd.DataFrame({self.target: preds}, index=pd.Index([o.key for o in ok], name="id"))
        df.attrs["failures"] = fails
        return df

    def atom_features(
        self, structures, layers=(0, 1, 2, 3), *, batch_size: int | None = None, n_jobs: int | None = 1
    ) -> list[dict]:
        """Site features: one ``{layer: (n_sites, d) float32}`` per structure (raises on a failure)."""
        structures = list(structures)
        ok, fails = self._graphs_or_failures(structures, None, n_jobs)
        if len(fails):
            first = fails.iloc[0]
            raise MEGNetGraphError(f"structure {first['id']}: {first['reason']}")
        return self.run_graphs([o.value for o in ok], layers, batch_size=batch_size)[1]


def model_files(name: str) -> tuple[Path, Path]:
    """(HDF5, JSON) paths of a pretrained model, through the project's data layer."""
    if name not in MODEL_FILES:
        raise ValueError(f"unknown MEGNet model {name!r}; choose one of {sorted(MODEL_FILES)}")
    return registry.fetch(MODEL_FILES[name]), registry.fetch(MODEL_FILES[name] + ".json")


@functools.lru_cache(maxsize=8)
def load_model(name: str = "formation_energy", device: str | None = None) -> MEGNetModel:
    """A pretrained model of :data:`MODEL_FILES`: ``"formation_energy"`` (eV/atom, mp-2019.4.1),
    ``"band_gap"`` (eV, mp-2018.6.1), ``"nonmetal"`` (P(non-metal), the mp-2018.6.1 metal
    classifier), ``"log10K"`` / ``"log10G"`` (log10 of the VRH bulk / shear modulus in GPa,
    mp-2019.4.1).  Every model reads disordered sites through the same occupancy-weighted embedding
    (Σ occupancy × embedding row), as the V0-V3 features do."""
    h5, js = model_files(name)
    return MEGNetModel.from_files(h5, js, name=name, device=device)
