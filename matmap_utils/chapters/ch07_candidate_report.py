"""Chapter 07: a candidate report for one structure — every model of the book applied to it.

The sections of ``notebooks/07_candidate_report.py``, each a function that takes the structure and
returns plain numbers (figures and sentences are in :mod:`matmap_utils.chapters.ch07_figures`):

* :func:`load_structure` — a CIF/POSCAR path or an MP id of the pool, read with one-line errors;
* :func:`identity` — formula, space group, cell, density, disorder;
* :func:`megnet_section` — MEGNet formation energy, band gap, P(non-metal), K, G and the
  mechanical–elastic descriptors of López et al. (2023) that follow from them;
* :func:`bvse_section` — bond-valence Li barriers E_1D/E_2D/E_3D (Yamaguchi et al. 2023's ME = E_3D)
  and the landscape grid for the pathway picture;
* :func:`map_section` — the structure on chapter 02's autoencoder map and UMAP map, with its
  nearest Li–O neighbours and their ME;
* :func:`screening_section` — chapter 06's AtomSets ensemble: P_SI ± SD, d_train, domain, verdict;
* :func:`nearest_labelled` — the nearest measured conductors by ElMD and by AtomSets features;
* :func:`md_section` — an optional short CHGNet MD and its Li diffusion coefficient.

Nothing is trained here: the map comes from chapter 02's results, the ensemble from chapter 06's
(:func:`upstream_models`).
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from pymatgen.core import Composition, Structure

from matmap_utils.chapters.results import upstream_file
from matmap_utils.core.errors import UserError
from matmap_utils.data.datasets import LIO_ELEMENTS, load_mchaffie, load_obelix
from matmap_utils.data.registry import fetch
from matmap_utils.data.structures import StructureReadError, read_structure
from matmap_utils.data.trajectories import read_trajectory
from matmap_utils.materials_map import analysis, bvse, bvse_fast
from matmap_utils.materials_map.autoencoder import load_map
from matmap_utils.screening import candidates
from matmap_utils.screening.atomsets import features
from matmap_utils.screening.megnet import pool
from matmap_utils.screening.megnet.properties import moduli_gpa, pool_properties
from matmap_utils.screening.score import score_structures
from matmap_utils.screening.splits import elmd_distances
from matmap_utils.transport.diffusion import diffusion
from matmap_utils.transport.elastic import elastic_descriptors
from matmap_utils.transport.md import MDSettings, run_nvt

NB = "07_candidate_report"
MAP_NB = "02_autoencoder_map"
SCREEN_NB = "06_atomsets_screening"

#: the three reference materials of the book's "Your material" part: page name → (label, MP id)
REFERENCE_MATERIALS = {
    "lgps": ("Li10GeP2S12 (LGPS)", "mp-696128"),
    "li3incl6": ("Li3InCl6", "mp-676109"),
    "llzo": ("Li7La3Zr2O12 (LLZO)", "mp-942733"),
}

_MP_ID = re.compile(r"mp-\d+")


class Timings:
    """Wall time per report section (s), for the report's own breakdown."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, section: str) -> None:
        now = time.perf_counter()
        self.seconds[section] = self.seconds.get(section, 0.0) + now - self._t
        self._t = now


def load_structure(spec: str) -> tuple[Structure, str, str]:
    """``(structure, name, source)`` of ``spec``: a structure file, or an MP id of the pool (``mp-696128``).

    Raises :class:`UserError` with one line naming the file and the problem.
    """
    spec = str(spec).strip()
    if _MP_ID.fullmatch(spec):
        try:
            path = fetch(f"mp_li/{spec}.cif")
        except Exception as exc:  # noqa: BLE001 - a registry/download failure, said in one line
            raise UserError(f"{spec}: not an MP id of the pool ({type(exc).__name__}: {exc})") from None
        source = f"mp_li/{spec}.cif (Materials Project, via the data mirror)"
        name = spec
    else:
        path, source, name = Path(spec), spec, Path(spec).stem
    try:
        structure = read_structure(path)
    except StructureReadError as exc:
        raise UserError(str(exc)) from None
    if "Li" not in {el.symbol for el in structure.composition.elements}:
        raise UserError(f"{spec}: the structure has no Li (the book's models are for Li conductors)")
    return structure, name, source


def identity(structure: Structure) -> dict:
    """Formula, space group (symprec 0.1 Å), cell (Å, °), volume (Å³), density (g/cm³), disorder."""
    try:
        symbol, number = structure.get_space_group_info(symprec=0.1)
    except Exception:  # noqa: BLE001 - spglib can fail on odd disordered cells
        symbol, number = "undetermined", None
    partial = [i for i, s in enumerate(structure) if not s.is_ordered]
    li_partial = [i for i in partial if "Li" in {sp.symbol for sp in structure[i].species}]
    a, b, c = structure.lattice.abc
    al, be, ga = structure.lattice.angles
    return {
        "formula": structure.composition.reduced_formula,
        "cell_formula": structure.composition.formula,
        "spacegroup": symbol,
        "spacegroup_number": number,
        "a": a,
        "b": b,
        "c": c,
        "alpha": al,
        "beta": be,
        "gamma": ga,
        "volume_A3": structure.volume,
        "density_g_cm3": float(structure.density),
        "n_sites": len(structure),
        "disordered": bool(partial),
        "n_partial_sites": len(partial),
        "n_partial_li_sites": len(li_partial),
        "li_fraction": float(structure.composition.get_atomic_fraction("Li")),
        "in_lio_set": in_lio_set(structure.composition),
    }


def in_lio_set(comp: Composition) -> bool:
    """Whether a composition belongs to chapter 01/02's Li–O set (Li, O and only elements of
    :data:`~matmap_utils.data.datasets.LIO_ELEMENTS`)."""
    els = {el.symbol for el in comp.elements}
    return {"Li", "O"} <= els and (els - {"Li", "O"}) <= LIO_ELEMENTS


def megnet_section(structure: Structure, name: str) -> dict:
    """MEGNet (the port of ``megnet==1.3.2``): formation energy (eV/atom), band gap (eV),
    P(non-metal), K and G (GPa, VRH) and the 13 mechanical–elastic descriptors from K, G and the
    density (:func:`matmap_utils.transport.elastic.elastic_descriptors`); a value the models cannot
    give is NaN with ``reason``."""
    out: dict = {"reason": None}
    pred = pool.predict_structures([structure], ids=[name])
    fails = pred.attrs.get("failures")
    if len(pred):
        out["formation_energy_eV_atom"] = float(pred["formation_energy_eV_atom"].iloc[0])
        out["band_gap_eV"] = float(pred["band_gap_eV"].iloc[0])
    elif fails is not None and len(fails):
        out["reason"] = str(fails["reason"].iloc[0])
    props, _ = pool_properties(pd.Series({name: structure}), cache=False, n_jobs=1, progress=False)
    if name in props.index and props.loc[name, ["log10_K_VRH_GPa", "log10_G_VRH_GPa"]].notna().all():
        out["P_nonmetal"] = float(props.loc[name, "p_nonmetal"])
        mod = moduli_gpa(props.loc[[name]])
        K, G = float(mod["K_VRH_GPa"].iloc[0]), float(mod["G_VRH_GPa"].iloc[0])
        out["K_GPa"], out["G_GPa"] = K, G
        out["elastic"] = elastic_descriptors([K], [G], [structure.density]).iloc[0].to_dict()
    elif name in props.index and props.loc[name].get("reason"):
        out["reason"] = str(props.loc[name, "reason"])
    return out


def framework_for_bvse(structure: Structure) -> tuple[Structure, str]:
    """An ordered structure with the same BVSE landscape as ``structure``, and how it was made.

    The Li+ probe landscape depends on the framework only (every non-Li site;
    :func:`~matmap_utils.materials_map.bvse_fast.framework_terms`), so partial occupancy on Li
    sites does not change it: those sites are replaced by full Li.  Partial occupancy on a
    framework site raises :class:`~matmap_utils.materials_map.bvse.MigrationError`.
    """
    if structure.is_ordered:
        return structure, "ordered structure"
    framework_partial = [s for s in structure if not s.is_ordered and {sp.symbol for sp in s.species} != {"Li"}]
    if framework_partial:
        raise bvse.MigrationError(
            f"{len(framework_partial)} framework site(s) partially occupied or mixed: the bond-valence "
            "landscape needs an ordered framework (order the structure first)"
        )
    ordered = structure.copy()
    for i, site in enumerate(structure):
        if not site.is_ordered:
            ordered.replace(i, "Li", coords=site.frac_coords)
    return ordered, "Li sites of partial occupancy filled (the landscape depends on the framework only)"


def _decorated(structure: Structure, ordered: Structure) -> tuple[Structure, str]:
    """``ordered`` with the oxidation states of ``structure``: bond valence / composition guesses /
    nominal charges (:func:`bvse.assign_oxidation_states`) for an ordered structure; for a
    disordered one, the charge-balanced guess of its *true* composition (filled Li sites would
    unbalance it), nominal charges as the last resort."""
    if structure.is_ordered:
        return bvse.assign_oxidation_states(structure)
    plain = structure.copy()
    plain.remove_oxidation_states()
    try:
        guesses = plain.composition.oxi_state_guesses(max_sites=-1)
    except Exception:  # noqa: BLE001 - fractional compositions pymatgen cannot enumerate
        guesses = ()
    dec = ordered.copy()
    dec.remove_oxidation_states()
    if guesses:
        dec.add_oxidation_state_by_element(guesses[0])
        return dec, "composition guess (of the disordered composition)"
    dec.add_oxidation_state_by_element(bvse.nominal_oxidation_states(plain.composition))
    return dec, "nominal (not charge-balanced)"


def oxidation_states(dec: Structure) -> dict[str, float]:
    """Element → oxidation state of a decorated structure."""
    return {sp.symbol: float(sp.oxi_state) for site in dec for sp in site.species}


def bvse_section(structure: Structure, settings: dict | None = None) -> dict:
    """Percolation barriers E_1D, E_2D, E_3D (eV) of a Li+ probe (Yamaguchi et al. 2023's ME = E_3D)
    with :func:`matmap_utils.materials_map.bvse_fast.barriers`, the oxidation states and how they were
    assigned, the grid spacing (Å) and the landscape ``grid`` (eV above its minimum) for the pathway
    picture; ``reason`` when they cannot be computed."""
    s = {**bvse.DEFAULT_SETTINGS, **(settings or {})}
    try:
        ordered, how = framework_for_bvse(structure)
        dec, method = _decorated(structure, ordered)
        res = bvse.grid_resolution(ordered, s)
        try:
            energies = bvse.landscape_barriers(dec, res, s)
        except KeyError:  # an ion without softBV parameters (e.g. S-): bvse_barriers' nominal retry
            dec = ordered.copy()
            dec.remove_oxidation_states()
            dec.add_oxidation_state_by_element(bvse.nominal_oxidation_states(dec.composition))
            method = "nominal"
            energies = bvse.landscape_barriers(dec, res, s)
        grid = bvse_fast.bvse_grid(dec, res, r_cut=float(s["r_cut"]), k=int(s["k"]), f=float(s["f"]))
    except (bvse.MigrationError, KeyError) as exc:
        return {"reason": str(exc).strip("'\""), "E_1D": np.nan, "E_2D": np.nan, "E_3D": np.nan}
    return {
        **{k: float(v) for k, v in energies.items()},
        "oxi_method": method,
        "oxidation_states": oxidation_states(dec),
        "resolution": res,
        "structure_used": how,
        "grid": grid - grid.min(),
        "lattice": ordered.lattice,
        "reason": None,
    }


def upstream_models(notebook: str = NB) -> dict:
    """Chapter 02's map (at its chosen W) with its reference table and inputs, and chapter 06's ensemble.

    Raises :class:`FileNotFoundError` naming the chapter to run when one is missing (``matmap
    report`` then runs it once).
    """
    m02 = json.loads(upstream_file(notebook, MAP_NB, "metrics.json").read_text())
    W = float(m02["chosen_W"])
    model = load_map(upstream_file(notebook, MAP_NB, f"map_W{W:g}.pt"))
    coords = pd.read_parquet(upstream_file(notebook, MAP_NB, "map_coordinates.parquet"))
    inputs = pd.read_parquet(upstream_file(notebook, MAP_NB, "map_inputs.parquet"))
    m06 = json.loads(upstream_file(notebook, SCREEN_NB, "metrics.json").read_text())
    bundle = candidates.load_screening_bundle(m06.get("model_dir"))
    return {"W": W, "map": model, "coords": coords, "inputs": inputs, "bundle": bundle, "map_profile": m02["profile"]}


def map_section(structure: Structure, name: str, models: dict, k: int = 10) -> dict:
    """The structure on chapter 02's maps: ``x_comp``, ``x_struct``, predicted ME (eV), whether its
    descriptors leave the reference range; its ``k`` nearest Li–O materials on the autoencoder map
    and in the map's input space (which also places it on the UMAP map, :func:`analysis.umap_placement`)."""
    W, model = models["W"], models["map"]
    coords = models["coords"].rename(columns={f"W={W:g}:x_comp": "x_comp", f"W={W:g}:x_struct": "x_struct"})
    Xc, Xs, fails = analysis.scaled_inputs([structure], model, [name], n_jobs=1)
    if not len(Xc):
        return {"reason": "; ".join(f"{r['kind']}: {r['reason']}" for _, r in fails.iterrows()) or "no descriptors"}
    z = model.encode(Xc, Xs)
    x, y = float(z[0, 0]), float(z[0, 1])
    near_ae = analysis.nearest_materials(coords, (x, y), k=k)
    inputs = models["inputs"]
    feat_cols = [c for c in inputs.columns if c.startswith(("c:", "s:"))]
    q = np.concatenate([Xc.to_numpy(float)[0], Xs.to_numpy(float)[0]])
    has_umap = inputs["umap_x"].notna().all()
    xy, idx, dist = analysis.umap_placement(
        inputs[feat_cols].to_numpy(float), inputs[["umap_x", "umap_y"]].to_numpy(float), q[None, :], k=k
    )
    near_in = coords.loc[inputs.index[idx[0]], ["formula", "spacegroup", "ME", "family"]].copy()
    near_in["input_distance"] = dist[0]
    return {
        "x_comp": x,
        "x_struct": y,
        "ME_pred": float(model.predict_me_from_codes(z[:, 0], z[:, 1])[0]),
        "max_scaled": float(max(Xc.to_numpy().max(), Xs.to_numpy().max())),
        "coords": coords,
        "near_map": near_ae,
        "near_inputs": near_in,
        "umap_xy": tuple(float(v) for v in xy[0]) if has_umap else None,
        "reason": None,
    }


def screening_section(structure: Structure, name: str, bundle: dict) -> dict:
    """Chapter 06's ensemble on the structure (:func:`matmap_utils.screening.score.score_structures`):
    P_SI and its SD over members, P(non-metal), Eg used by the filter (eV), d_train, domain, novelty,
    verdict; plus the structure's mean feature vector for :func:`nearest_labelled`."""
    df, fails = score_structures(bundle, pd.Series({name: structure}, dtype=object))
    if not len(df):
        return {"reason": fails[0][1] if fails else "not featurizable"}
    feats, _ = features.featurize(
        pd.Series({name: structure}, dtype=object),
        modes=[bundle["mode"]],
        layers=[bundle["layer"]],
        n_jobs=1,
        cache=False,
    )
    vec = features.set_vectors([feats[(bundle["mode"], bundle["layer"])][name]])[0]
    return {**df.iloc[0].to_dict(), "vector": vec, "reason": None}


def labelled_table() -> pd.DataFrame:
    """The labelled conductors a report compares with: OBELiX's entries (formula, measured σ_RT in
    S/cm, family, space group, DOI, ICSD code) — every entry, with or without a CIF."""
    ob = load_obelix()
    return pd.DataFrame(
        {
            "formula": ob["Reduced Composition"].astype(str),
            "sigma_S_cm": ob["sigma_rt"],
            "family": ob["Family"].fillna("unknown").astype(str),
            "spacegroup": ob["Space group"].astype(str),
            "doi": ob["DOI"].astype(str),
            "icsd": ob["icsd"],
        },
        index=ob.index,
    )


def _training_neighbours(order, dist, bundle: dict, families: dict) -> pd.DataFrame:
    """Rows of the ensemble's training compounds ``order`` with McHaffie et al.'s σ, label and DOI,
    and the OBELiX family of the same ICSD entry."""
    db = load_mchaffie(with_structures=False).drop_duplicates("compound").set_index("compound")
    rows = []
    for i in order:
        f = bundle["train_formulas"][i]
        r = db.loc[f] if f in db.index else None
        rows.append(
            {
                "compound": f,
                "sigma_S_cm": float(r["sigma_rt"]) if r is not None else np.nan,
                "superionic": bool(r["superionic"]) if r is not None else None,
                "family": families.get(int(r["icsd"]), "unknown") if r is not None else "unknown",
                "doi": str(r["doi"]) if r is not None else "",
                "feature_distance": float(dist[i]),
            }
        )
    return pd.DataFrame(rows)


def nearest_labelled(structure: Structure, screening: dict, bundle: dict, k: int = 5) -> dict:
    """The ``k`` nearest measured conductors by composition (ElMD, modified Pettifor scale; OBELiX)
    and by AtomSets feature distance (PCA-normalized, as ``d_train``; chapter 06's training set,
    McHaffie et al.'s database, with σ, family and DOI)."""
    lab = labelled_table()
    d = elmd_distances(structure.composition.reduced_formula, lab["formula"].tolist())
    by_elmd = lab.assign(elmd=d).dropna(subset=["elmd"]).sort_values("elmd", kind="stable").head(k)
    by_feat = None
    if screening.get("reason") is None:
        dist = candidates.pca_distances_to_all(
            np.asarray(bundle["train_vectors"], float), screening["vector"][None, :]
        )[0]
        order = np.argsort(dist, kind="stable")[:k]
        fams = {int(c): f for c, f in zip(lab["icsd"], lab["family"]) if pd.notna(c)}
        by_feat = _training_neighbours(order, dist, bundle, fams)
    return {"by_elmd": by_elmd.drop(columns=["icsd"]), "by_features": by_feat}


def md_section(
    structure: Structure,
    md_ps: float,
    temperature: float,
    seed: int,
    *,
    equil_ps: float = 0.5,
    min_width_A: float = 8.0,
    device: str | None = None,
) -> dict:
    """A short CHGNet NVT run (``equil_ps`` ps of Langevin equilibration, then ``md_ps`` ps
    Nosé–Hoover, 2 fs steps, frames every 10 fs) and Li's D (cm²/s) with its block-average
    uncertainty (Eq. 4 of López et al. 2023); a supercell makes every cell width ≥ ``min_width_A``.  Uses a GPU
    when present."""
    if md_ps <= 0:
        return {"reason": "not run (md_ps = 0)"}
    if not structure.is_ordered:
        return {"reason": "the structure is disordered: MD needs an ordered cell (order it first)"}
    lat = structure.lattice
    widths = lat.volume / np.linalg.norm(np.cross(lat.matrix[[1, 2, 0]], lat.matrix[[2, 0, 1]]), axis=1)
    cell = tuple(int(max(1, np.ceil(min_width_A / w))) for w in widths)
    settings = MDSettings(
        temperature_K=float(temperature),
        steps=int(round(md_ps * 1000 / 2)),
        timestep_fs=2.0,
        equil_steps=int(round(equil_ps * 1000 / 2)),
        stride=5,
        seed=int(seed),
        supercell=cell,
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report_md.extxyz.gz"
        res = run_nvt(structure, settings, out, device=device)
        traj = read_trajectory(out)
        dres = diffusion(traj, "Li")
    return {
        "D_cm2_s": dres.D_cm2_s,
        "D_err_cm2_s": dres.D_err_cm2_s,
        "temperature_K": float(temperature),
        "md_ps": float(md_ps),
        "n_atoms": int(len(structure) * np.prod(cell)),
        "supercell": cell,
        "mean_temperature_K": float(getattr(res, "mean_temperature_K", np.nan)),
        "msd": dres.msd,
        "reason": None,
    }
