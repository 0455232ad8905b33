"""Chapter 07's figures, tables and sentences (the numbers come from :mod:`.ch07_candidate_report`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from ase.data import atomic_numbers
from ase.data.colors import jmol_colors
from ase.visualize.plot import plot_atoms
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from matmap_utils import viz
from matmap_utils.screening.filters import P_SI_MIN

NA = "not available"


def _num(x, sig: int = 3, unit: str = "") -> str:
    """A number for a sentence (``NA`` for None/NaN)."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return NA
    return viz.significant(float(x), sig) + (f" {unit}" if unit else "")


def identity_table(ident: dict, source: str) -> pd.DataFrame:
    """Two-column table (property, value) of :func:`~.ch07_candidate_report.identity`."""
    sg = ident["spacegroup"] + (f" (No. {ident['spacegroup_number']})" if ident["spacegroup_number"] else "")
    dis = (
        f"yes: {ident['n_partial_sites']} of {ident['n_sites']} sites partially occupied or mixed "
        f"({ident['n_partial_li_sites']} of them Li sites)"
        if ident["disordered"]
        else "no (every site fully occupied by one species)"
    )
    rows = [
        ("source", source),
        ("reduced formula", ident["formula"]),
        ("cell content", ident["cell_formula"]),
        ("space group (symprec 0.1 Å)", sg),
        ("a, b, c (Å)", ", ".join(viz.significant(v, 4) for v in (ident["a"], ident["b"], ident["c"]))),
        ("α, β, γ (°)", ", ".join(viz.significant(v, 4) for v in (ident["alpha"], ident["beta"], ident["gamma"]))),
        ("volume (Å³)", viz.significant(ident["volume_A3"], 4)),
        ("density (g/cm³)", viz.significant(ident["density_g_cm3"], 3)),
        ("sites in the cell", str(ident["n_sites"])),
        ("Li atomic fraction", viz.significant(ident["li_fraction"], 3)),
        ("disorder", dis),
    ]
    return pd.DataFrame(rows, columns=["property", "value"])


def _majority_atoms(structure: Structure):
    """ASE atoms of ``structure`` with each disordered site drawn as its majority species."""
    s = structure.copy()
    for i, site in enumerate(structure):
        if not site.is_ordered:
            sp = max(site.species.items(), key=lambda kv: kv[1])[0]
            s.replace(i, sp.symbol, coords=site.frac_coords)
    s.remove_oxidation_states()
    return AseAtomsAdaptor.get_atoms(s)


def structure_figure(structure: Structure, title: str):
    """The cell seen along c and along a (ASE's matplotlib renderer, offline); disordered sites drawn
    as their majority species; a legend names the elements."""
    atoms = _majority_atoms(structure)
    fig, axes = viz.panel_grid(2, panel_height=3.4)
    for ax, rot, view in zip(axes, ("0x,0y,0z", "-90x,-90y,0z"), ("along c", "along a")):
        plot_atoms(atoms, ax, rotation=rot, radii=0.45, show_unit_cell=2)
        ax.set_title(f"{title}, {view}")
        ax.set_axis_off()
    els = sorted({a.symbol for a in atoms}, key=lambda e: atomic_numbers[e])
    handles = [
        plt.Line2D([], [], marker="o", ls="", mec="k", mfc=jmol_colors[atomic_numbers[e]], ms=8, label=e) for e in els
    ]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(els), 8), frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def pathway_figure(bv: dict):
    """The BVSE landscape projected along each cell axis: the minimum energy over the axis (eV
    above the landscape minimum) with the contour at E_3D, inside which Li percolates in 3D."""
    grid, lat = bv["grid"], bv["lattice"]
    e3 = bv["E_3D"]
    vmax = float(np.nanmin([np.isfinite(e3) and 1.5 * e3 or 2.0, 3.0])) if np.isfinite(e3) else 2.0
    fig, axes = viz.panel_grid(3, ncols=2, panel_height=3.2)
    names = "abc"
    for ax, axis in zip(axes, range(3)):
        proj = grid.min(axis=axis)
        u, v = [i for i in range(3) if i != axis]
        ext = (0, lat.abc[v], 0, lat.abc[u])
        im = ax.imshow(proj, origin="lower", extent=ext, cmap="viridis", vmin=0, vmax=max(vmax, 0.1), aspect="auto")
        if np.isfinite(e3) and proj.min() < e3 < proj.max():
            ax.contour(proj, levels=[e3], colors="w", linewidths=1.2, extent=ext, origin="lower")
        ax.set_xlabel(f"{names[v]} (Å)")
        ax.set_ylabel(f"{names[u]} (Å)")
        ax.set_title(f"minimum along {names[axis]}")
        fig.colorbar(im, ax=ax, label="BVSE − min (eV)")
    fig.suptitle("Li+ bond-valence landscape; white: the E_3D contour (3-D percolation)")
    fig.tight_layout()
    return fig


def map_figure(ms: dict, W: float, label: str):
    """The structure (star) on chapter 02's autoencoder map and on its UMAP map, the reference
    Li–O materials coloured by their ME (eV), the nearest neighbours ringed."""
    coords = ms["coords"]
    n = 2 if ms.get("umap_xy") is not None else 1
    fig, axes = viz.panel_grid(n, panel_height=3.6, layout="constrained")
    vmin, vmax = np.nanpercentile(coords["ME"], [2, 98])
    sc = axes[0].scatter(
        coords["x_comp"], coords["x_struct"], c=coords["ME"], s=6, cmap="viridis_r", vmin=vmin, vmax=vmax
    )
    near = ms["near_map"]
    axes[0].scatter(near["x_comp"], near["x_struct"], s=40, facecolors="none", edgecolors="k", lw=0.8)
    axes[0].scatter([ms["x_comp"]], [ms["x_struct"]], marker="*", s=260, c="red", edgecolors="k")
    axes[0].set_xlabel("x_comp")
    axes[0].set_ylabel("x_struct")
    axes[0].set_title(f"autoencoder, W = {W:g}")
    if n == 2:
        inp = ms["inputs"]
        axes[1].scatter(
            inp["umap_x"], inp["umap_y"], c=coords.loc[inp.index, "ME"], s=6, cmap="viridis_r", vmin=vmin, vmax=vmax
        )
        nb = inp.loc[ms["near_inputs"].index]
        axes[1].scatter(nb["umap_x"], nb["umap_y"], s=40, facecolors="none", edgecolors="k", lw=0.8)
        axes[1].scatter(*ms["umap_xy"], marker="*", s=260, c="red", edgecolors="k")
        axes[1].set_xlabel("UMAP 1")
        axes[1].set_ylabel("UMAP 2")
        axes[1].set_title("UMAP, same inputs")
    fig.colorbar(sc, ax=list(axes), label="ME = E_3D (eV)")
    fig.suptitle(f"{label} (red star) and the Li–O materials; rings: nearest neighbours")
    return fig


def msd_figure(md: dict):
    """Li mean-squared displacement of the report's MD (Å² against ps) with the fit window."""
    res = md["msd"]
    fig, ax = plt.subplots(figsize=(viz.FIG_WIDTH_IN * 0.7, 3.2))
    ax.plot(np.asarray(res.lag_fs) / 1000, np.asarray(res.msd), lw=1.2)
    ax.set_xlabel("lag time (ps)")
    ax.set_ylabel("Li MSD (Å²)")
    ax.set_title(f"CHGNet NVT, {md['temperature_K']:g} K, {md['md_ps']:g} ps")
    fig.tight_layout()
    return fig


def megnet_text(mg: dict, ident: dict) -> str:
    """MEGNet's numbers in a sentence or two, with what each means."""
    if mg.get("formation_energy_eV_atom") is None:
        return f"MEGNet could not read this structure ({mg.get('reason')}); its properties are {NA}."
    pn = mg.get("P_nonmetal")
    metal = NA if pn is None else ("a non-metal" if pn >= 0.5 else "a **metal** (not an electrolyte candidate)")
    text = (
        f"MEGNet predicts a formation energy of {_num(mg['formation_energy_eV_atom'], 3, 'eV/atom')} and a band gap "
        f"of {_num(mg['band_gap_eV'], 3, 'eV')}; its metal classifier gives P(non-metal) = {_num(pn, 3)}, i.e. "
        f"{metal}. "
    )
    if "K_GPa" in mg:
        el = mg["elastic"]
        text += (
            f"Bulk and shear moduli (VRH): K = {_num(mg['K_GPa'], 3, 'GPa')}, G = {_num(mg['G_GPa'], 3, 'GPa')}; "
            f"Pugh's ratio G/K = {_num(el['pugh_ratio'], 3)}, Poisson's ratio {_num(el['poisson_ratio'], 3)}, "
            f"Vickers hardness (Tian et al. 2012) {_num(el['vickers_hardness_GPa'], 3, 'GPa')} — López et al. "
            "found softer, more ductile Li electrolytes (low hardness and Pugh's ratio, high Poisson's ratio) "
            "to diffuse faster."
        )
    else:
        text += f"The moduli K and G are {NA} ({mg.get('reason')})."
    if ident["disordered"]:
        text += " The structure is disordered: MEGNet embeds each partially occupied site by its occupancy-weighted species."
    return text


def bvse_text(bv: dict) -> str:
    """The bond-valence barriers in words."""
    if bv.get("reason"):
        return f"Bond-valence barriers are {NA}: {bv['reason']}."
    ox = ", ".join(f"{el} {v:+g}" for el, v in bv["oxidation_states"].items())
    return (
        f"Bond-valence Li barriers: E_1D = {_num(bv['E_1D'], 3, 'eV')}, E_2D = {_num(bv['E_2D'], 3, 'eV')}, "
        f"E_3D = {_num(bv['E_3D'], 3, 'eV')} (grid {_num(bv['resolution'], 2, 'Å')}; oxidation states "
        f"{ox} by {bv['oxi_method']}; {bv['structure_used']}). E_3D is the energy at which the Li-accessible region "
        "first connects through the crystal in three dimensions — Yamaguchi et al.'s migration energy ME."
    )


def map_text(ms: dict, ident: dict, W: float, profile: str) -> str:
    """Where the structure sits on the map, in words (with the Li–O caveat when it applies)."""
    if ms.get("reason"):
        return f"The structure could not be placed on the map: {ms['reason']}."
    near = ms["near_map"]
    text = (
        f"On chapter 02's map (W = {W:g}, built with the {profile} profile) the structure sits at "
        f"(x_comp, x_struct) = ({_num(ms['x_comp'], 3)}, {_num(ms['x_struct'], 3)}); the map's ME head "
        f"predicts {_num(ms['ME_pred'], 3, 'eV')}, and its {len(near)} nearest materials on the map have a "
        f"median ME of {_num(float(near['ME'].median()), 3, 'eV')}. "
    )
    own = ms["near_inputs"]
    if len(own) and own["input_distance"].iloc[0] < 1e-6:
        text += (
            f"It is one of the map's own reference materials ({own.index[0]}, bond-valence ME "
            f"{_num(float(own['ME'].iloc[0]), 3, 'eV')}). "
        )
    if ms["max_scaled"] > 1:
        text += (
            f"Some of its descriptors lie outside the map's reference range (largest scaled value "
            f"{_num(ms['max_scaled'], 3)} > 1): its position is an extrapolation. "
        )
    if not ident["in_lio_set"]:
        text += (
            "**The map covers the Li–O set** (Li, O and the elements of Yamaguchi et al.'s set); this "
            "compound is outside it, so the neighbours below are the nearest *Li–O* materials, shown "
            "for orientation only."
        )
    return text


def screening_text(sc: dict) -> str:
    """Chapter 06's ensemble verdict in words."""
    if sc.get("reason"):
        return f"The AtomSets ensemble could not score this structure: {sc['reason']}."
    dom = "inside" if sc["domain"] == "in" else "**outside**"
    return (
        f"Chapter 06's AtomSets ensemble gives P_SI = {_num(sc['P_SI'], 2)} ± {_num(sc['P_SI_std'], 2)} (mean ± SD "
        f"over its members; a candidate needs P_SI ≥ {P_SI_MIN:g}). Its distance to the nearest training "
        f"compound is d_train = {_num(sc['d_train'], 3)}, {dom} the training domain. The band-gap filter used "
        f"Eg = {_num(sc['Eg_eV'], 3, 'eV')} ({sc['Eg_source']}). Verdict of the screening filters: "
        f"**{sc['verdict']}**."
    )


def md_text(md: dict) -> str:
    """The MD result with the caveat a few picoseconds deserve."""
    if md.get("reason"):
        return f"Molecular dynamics: {md['reason']}."
    err = md["D_err_cm2_s"]
    err_text = (
        f" ± {viz.sci(err)} cm²/s (block average)"
        if np.isfinite(err)
        else " cm²/s (the run is too short for a block-average error bar)"
    )
    return (
        f"A {md['md_ps']:g} ps CHGNet NVT run at {md['temperature_K']:g} K ({md['n_atoms']} atoms, supercell "
        f"{'×'.join(map(str, md['supercell']))}) gives D(Li) = {viz.sci(md['D_cm2_s'])}{err_text}. A few picoseconds of a universal potential "
        "in a small cell can tell a fast conductor from a frozen one at this temperature; they cannot give a "
        "room-temperature conductivity (that needs several temperatures, an Arrhenius fit and ≥ 100 ps)."
    )


def summary(name: str, ident: dict, mg: dict, bv: dict, ms: dict, sc: dict, md: dict) -> dict:
    """One row for ``matmap report``'s index and the chapter's metrics (numbers, NaN when absent)."""

    def g(d, k):
        v = d.get(k)
        return float(v) if isinstance(v, (int, float, np.floating)) and v is not None else np.nan

    return {
        "name": name,
        "formula": ident["formula"],
        "spacegroup": ident["spacegroup"],
        "disordered": ident["disordered"],
        "P_SI": g(sc, "P_SI"),
        "P_SI_std": g(sc, "P_SI_std"),
        "P_nonmetal": g(mg, "P_nonmetal"),
        "Eg_eV": g(sc, "Eg_eV") if not sc.get("reason") else g(mg, "band_gap_eV"),
        "E_3D_eV": g(bv, "E_3D"),
        "ME_map_eV": g(ms, "ME_pred"),
        "K_GPa": g(mg, "K_GPa"),
        "G_GPa": g(mg, "G_GPa"),
        "d_train": g(sc, "d_train"),
        "domain": sc.get("domain", NA),
        "verdict": sc.get("verdict", NA),
        "D_cm2_s": g(md, "D_cm2_s"),
    }


def found_text(row: dict, ident: dict, bv: dict, near: dict) -> list[str]:
    """The report's "What we found": one sentence per model, from the computed values."""
    out = []
    out.append(
        f"{row['formula']} ({row['spacegroup']}{', disordered' if row['disordered'] else ''}): the screening "
        f"verdict is *{row['verdict']}* with P_SI = {_num(row['P_SI'], 2)} ± {_num(row['P_SI_std'], 2)}, "
        f"{row['domain']} the training domain."
    )
    if np.isfinite(row["E_3D_eV"]):
        out.append(
            f"Its bond-valence 3-D Li barrier is {_num(row['E_3D_eV'], 3, 'eV')} "
            f"(the map's ME head says {_num(row['ME_map_eV'], 3, 'eV')})."
        )
    else:
        out.append(f"Its bond-valence barrier is {NA} ({bv.get('reason')}).")
    out.append(
        f"MEGNet: P(non-metal) = {_num(row['P_nonmetal'], 3)}, K = {_num(row['K_GPa'], 3, 'GPa')}, "
        f"G = {_num(row['G_GPa'], 3, 'GPa')}."
    )
    el = near["by_elmd"]
    if len(el):
        top = el.iloc[0]
        out.append(
            f"Its closest measured composition in OBELiX is {top['formula']} ({top['family']}, "
            f"σ_RT = {viz.sci(top['sigma_S_cm'])} S/cm, ElMD {_num(top['elmd'], 2)})."
        )
    if np.isfinite(row["D_cm2_s"]):
        out.append(f"The short CHGNet MD gives D(Li) = {viz.sci(row['D_cm2_s'])} cm²/s.")
    return out


def timing_text(seconds: dict) -> str:
    """Where this report's time went (s per section; the model loading included)."""
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items())
    return f"This report took {sum(seconds.values()):.0f} s: {parts}."
