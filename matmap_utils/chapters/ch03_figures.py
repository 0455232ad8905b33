"""Chapter 03's figures (López et al., Mater. Horiz. 10, 1757, 2023, Methods Eqs. 3–7): legible at
the book's content width — at most two panels per row (:func:`matmap_utils.viz.panel_grid`),
units on every axis, legends outside dense plots.

* :func:`plot_argyrodite_msd` — pooled Li MSD per argyrodite and D against anion disorder;
* :func:`plot_msd_components` — MSD_x, MSD_y, MSD_z of LGPS and Na3PS4;
* :func:`plot_generated_msd`, :func:`plot_arrhenius` — the generated CHGNet runs;
* :func:`plot_vdos_species`, :func:`plot_vdos_diffusive` — the VDOS (Eq. 5);
* :func:`plot_descriptors_vs_T` — every vibrational descriptor (Table 1, D–V) against T.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from matmap_utils.transport.diffusion import KB_EV
from matmap_utils.viz import FIG_WIDTH_IN, panel_grid

ARGYRODITES = ("Li6PS5Cl", "Li6PS5I")
DISORDER = (0.0, 50.0, 100.0)

#: panels of :func:`plot_descriptors_vs_T`: title, y label with units, columns (label per column)
DESC_PANELS = (
    ("mean frequency ⟨ω⟩ (Eq. 6)", "⟨ω⟩ (meV)", {"omega_mean_meV": None}),
    (
        "⟨ω30⟩ (Eq. 7): all, diffusive, non-diffusive",
        "⟨ω30⟩ (meV)",
        {"omega30_meV": "all ions", "omega30_meV_d": "diffusive", "omega30_meV_nd": "non-diffusive"},
    ),
    ("vibrational energy", "E_vib (meV/atom)", {"Evib_meV_atom": None}),
    ("vibrational free energy", "F_vib (meV/atom)", {"Fvib_meV_atom": None}),
    ("vibrational entropy", "S_vib (k_B/atom)", {"Svib_kB_atom": None}),
    ("heat capacity", "C_v (k_B/atom)", {"Cv_kB_atom": None}),
    ("Debye temperature", "θ_D (K)", {"theta_D_K": None}),
    ("Lindemann ratio", "Lindemann ratio (no unit)", {"lindemann": None}),
)
_STYLES = ("-", "--", ":")


def plot_argyrodite_msd(per_run: pd.DataFrame, per_cond: pd.DataFrame, curves: Mapping) -> plt.Figure:
    """Pooled Li MSD (± s.e. over runs, Eq. 4 fit window shaded) per argyrodite (top row) and D
    against anion-site disorder, single runs as dots (bottom)."""
    fig, axes = panel_grid(3, panel_height=3.1)
    for ax, system in zip(axes[:2], ARGYRODITES):
        for k, dis in enumerate(DISORDER):
            c = curves.get((system, dis))
            if c is None:
                continue
            ax.plot(c["lag_ps"], c["mean"], color=f"C{k}", label=f"{dis:.0f} %")
            ax.fill_between(c["lag_ps"], c["mean"] - c["sem"], c["mean"] + c["sem"], color=f"C{k}", alpha=0.3)
            ax.axvspan(*c["fit"], color="0.9", zorder=0)
        ax.set(title=f"{system}: Li MSD", xlabel="lag τ (ps)", ylabel="MSD (Å²)")
        ax.legend(title="disorder", loc="upper left")
    for k, (system, g) in enumerate(per_cond[per_cond["system"].str.startswith("Li6PS5")].groupby("system")):
        axes[2].errorbar(
            g["disorder"], g["D_cm2_s"], g["D_err_cm2_s"], marker="o", capsize=4, color=f"C{k + 3}", label=system
        )
        pr = per_run[per_run["system"] == system]
        axes[2].scatter(pr["disorder"] + (k - 0.5) * 3, pr["D_cm2_s"], s=12, color=f"C{k + 3}", alpha=0.5)
    axes[2].set(yscale="log", xlabel="anion-site disorder (%)", ylabel="D(Li) (cm²/s)", title="D against disorder")
    axes[2].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    return fig


def plot_msd_components(per_cond_o: pd.DataFrame, curves_o: Mapping) -> plt.Figure:
    """MSD_x, MSD_y, MSD_z of LGPS and Na3PS4 with D_α in the legend, fit window shaded."""
    fig, axes = panel_grid(len(per_cond_o), panel_height=3.4)
    for ax, (_, row) in zip(axes, per_cond_o.iterrows()):
        c = curves_o[row["system"]]
        for k, a in enumerate("xyz"):
            ax.plot(c["lag_ps"], c["xyz"][:, k], label=f"{a}: {row[f'D{a}_cm2_s']:.1e}")
        ax.axvspan(*c["fit"], color="0.9", zorder=0)
        ax.set(
            title=f"{row['system']}, {row['temperature_K']:.0f} K ({row['specie']})",
            xlabel="lag τ (ps)",
            ylabel="MSD_α (Å²)",
        )
        ax.legend(title="D_α (cm²/s)", loc="upper left")
    fig.tight_layout()
    return fig


def _temperature_colours(temps) -> dict[float, str]:
    return {T: f"C{k}" for k, T in enumerate(sorted(set(temps)))}


def plot_generated_msd(gen_ok: pd.DataFrame, gen_curves: Mapping) -> plt.Figure:
    """Li MSD (solid) and mean framework MSD (dotted) per material and temperature (CHGNet runs);
    one legend for the whole figure, outside the panels."""
    mats = sorted(gen_ok["system"].unique())
    colours = _temperature_colours(T for _, T in gen_curves)
    fig, axes = panel_grid(len(mats), panel_height=3.2)
    for ax, mat in zip(axes, mats):
        for (m, T), c in sorted(gen_curves.items()):
            if m != mat:
                continue
            ax.plot(c["lag_ps"], c["msd"], color=colours[T])
            frame_sp = [k for k in c if k.startswith("msd_") and k != "msd_Li"]
            if frame_sp:
                fw = np.mean([c[k][: len(c["lag_ps"])] for k in frame_sp], axis=0)
                ax.plot(c["lag_ps"], fw, ls=":", color=colours[T])
        ax.set(title=f"{mat} (CHGNet)", xlabel="lag τ (ps)", ylabel="MSD (Å²)")
    handles = [Line2D([], [], color=c, label=f"{T:.0f} K") for T, c in colours.items()]
    handles += [Line2D([], [], color="0.3", label="Li"), Line2D([], [], color="0.3", ls=":", label="framework")]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout()
    return fig


def _arrhenius_line(ax, g: pd.DataFrame, fit: pd.DataFrame, colour: str) -> None:
    if len(fit) and len(g):
        f = fit.iloc[0]
        Ts = np.linspace(g["temperature_K"].min(), g["temperature_K"].max(), 20)
        D = f["D0_cm2_s"] * np.exp(-f["Ea_eV"] / (KB_EV * Ts))
        ax.plot(1000 / Ts, D, color=colour, label=f"fit: E_a = {f['Ea_eV']:.2f} ± {f['Ea_err_eV']:.2f} eV")


def plot_arrhenius(gen_ok: pd.DataFrame, arr: pd.DataFrame) -> plt.Figure:
    """D against 1000/T per material (crosses: mobile framework) with the Arrhenius fits."""
    fig, ax = plt.subplots(figsize=(FIG_WIDTH_IN * 0.75, 3.6))
    for k, (mat, g) in enumerate(gen_ok.groupby("system")):
        g = g[g["D_cm2_s"] > 0]
        solid = ~g["framework_mobile"].astype(bool)
        x, D, err = 1000 / g["temperature_K"], g["D_cm2_s"], g["D_err_cm2_s"]
        ax.errorbar(x[solid], D[solid], err[solid], fmt="o", color=f"C{k}", capsize=3, label=mat)
        if (~solid).any():
            ax.scatter(x[~solid], D[~solid], marker="x", color=f"C{k}", label=f"{mat}, framework mobile")
        _arrhenius_line(ax, g[solid], arr[arr["system"] == mat], f"C{k}")
    ax.set(yscale="log", xlabel="1000 / T (1/K)", ylabel="D(Li) (cm²/s)", title="Arrhenius plot (CHGNet NVT)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    return fig


def hottest(spectra: Mapping) -> dict[str, tuple[float, Mapping]]:
    """Per material, the spectra of its highest-temperature run: {material: (T, spectra)}."""
    keys = sorted(spectra)
    out = {}
    for mat in sorted({m for m, _ in keys}):
        Tmax = max(T for m, T in keys if m == mat)
        out[mat] = (Tmax, spectra[(mat, Tmax)])
    return out


def plot_vdos_species(spectra: Mapping, cutoff_meV: float = 30.0) -> plt.Figure:
    """VDOS per species and in total at each material's highest temperature (the ⟨ω30⟩ cut-off
    ``cutoff_meV`` dashed)."""
    hot = hottest(spectra)
    fig, axes = panel_grid(len(hot), panel_height=3.2, sharey=True)
    for ax, (mat, (Tmax, sp)) in zip(axes, hot.items()):
        for g in [g for g in sp if g not in ("all", "nd", "d")]:
            ax.plot(sp[g].energy_meV, sp[g].g, label=g)
        ax.plot(sp["all"].energy_meV, sp["all"].g, color="k", lw=1, label="all")
        ax.axvline(cutoff_meV, color="0.6", ls="--")
        ax.set(xlim=(0, 80), title=f"{mat}, {Tmax:.0f} K", xlabel="ħω (meV)", ylabel="g(ω) (states/meV/atom)")
        ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def plot_vdos_diffusive(spectra: Mapping) -> plt.Figure:
    """VDOS of the diffusive and the non-diffusive ions at each material's highest temperature."""
    hot = hottest(spectra)
    fig, axes = panel_grid(len(hot), panel_height=3.2, sharey=True)
    for ax, (mat, (Tmax, sp)) in zip(axes, hot.items()):
        for g, lab in (("nd", "non-diffusive"), ("d", "diffusive")):
            if g in sp:
                ax.plot(sp[g].energy_meV, sp[g].g, label=f"{lab} ({sp[g].n_atoms} ions)")
        ax.set(xlim=(0, 80), title=f"{mat}, {Tmax:.0f} K", xlabel="ħω (meV)", ylabel="g(ω) (states/meV/atom)")
        ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def plot_descriptors_vs_T(gen_ok: pd.DataFrame) -> plt.Figure:
    """Every vibrational descriptor of :data:`DESC_PANELS` against temperature, per material
    (colour) — two panels per row, one legend above the figure."""
    panels = [p for p in DESC_PANELS if any(c in gen_ok for c in p[2])]
    fig, axes = panel_grid(len(panels), panel_height=2.5)
    mats = sorted(gen_ok["system"].unique())
    for ax, (title, ylabel, cols) in zip(axes, panels):
        for k, mat in enumerate(mats):
            g = gen_ok[gen_ok["system"] == mat].sort_values("temperature_K")
            for s, col in enumerate(c for c in cols if c in g):
                ax.plot(g["temperature_K"], g[col], marker="o", ls=_STYLES[s % 3], color=f"C{k}")
        ax.set(title=title, xlabel="T (K)", ylabel=ylabel)
    handles = [Line2D([], [], color=f"C{k}", marker="o", label=m) for k, m in enumerate(mats)]
    multi = next((cols for _, _, cols in panels if len(cols) > 1), {})
    handles += [Line2D([], [], color="0.3", ls=_STYLES[s % 3], label=lab) for s, lab in enumerate(multi.values())]
    fig.legend(handles=handles, loc="lower center", ncol=3, bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout()
    return fig
