"""López et al.'s 13 mechanical–elastic (M–E) descriptors from the bulk and shear moduli.

López et al. (Mater. Horiz. 10, 1757, 2023, Table 1) list 13 M–E descriptors computed with DFT
elastic tensors but give no formulas.  With the Voigt–Reuss–Hill bulk modulus K and shear modulus
G (here: MEGNet's log10K/log10G models, trained on Materials Project VRH moduli) and the mass
density ρ, all 13 follow in the isotropic approximation:

=================  ==============================  ========================================  ============
symbol             descriptor                      formula                                   unit
=================  ==============================  ========================================  ============
B                  bulk modulus                    K                                         GPa
G                  shear modulus                   G                                         GPa
E                  Young's modulus                 9KG / (3K + G)                            GPa
λ                  1st Lamé parameter              K − 2G/3                                  GPa
ν                  Poisson's ratio                 (3K − 2G) / (2(3K + G))                   –
σ (M)              P-wave modulus                  K + 4G/3                                  GPa
κ                  Pugh's modulus ratio            G / K  (Pugh 1954)                        –
P_c                Cauchy pressure                 C12 − C44 = λ − G = K − 5G/3              GPa
H_V                Vickers hardness                0.92 κ^1.137 G^0.708 (Tian et al. 2012)   GPa
v_l                longitudinal wave velocity      √(M/ρ)                                    km/s
v_t                transverse wave velocity        √(G/ρ)                                    km/s
v_r                velocity ratio                  v_l / v_t                                 –
⟨v⟩                average (Debye) velocity        [(2/v_t³ + 1/v_l³)/3]^(−1/3)              km/s
=================  ==============================  ========================================  ============

Choices where the paper is silent, each checked against the signs it reports for Li conductors
(κ −56 %, ν +55 %, P_c +48 %, v_r +56 % Spearman correlation with D): Pugh's ratio is G/K as in
Pugh (Philos. Mag. 45, 823, 1954), so that κ falls where ν rises; the velocity ratio is v_l/v_t,
which rises with ν; the Cauchy pressure of an isotropic solid is C12 − C44 = λ − G.  Hardness
follows Tian, Xu and Wang (Int. J. Refract. Met. Hard Mater. 33, 93, 2012), whose power law stays
positive for soft solids; Chen et al.'s 2(κ²G)^0.585 − 3 (Intermetallics 19, 1275, 2011) is
negative for most electrolytes (G ≲ 15 GPa) and is offered as ``hardness="chen"``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pymatgen.core import Lattice, Structure

#: Column names of :func:`elastic_descriptors`, in López et al.'s Table 1 order.
COLUMNS = (
    "lame_lambda_GPa",
    "bulk_modulus_GPa",
    "young_modulus_GPa",
    "shear_modulus_GPa",
    "poisson_ratio",
    "p_wave_modulus_GPa",
    "vickers_hardness_GPa",
    "pugh_ratio",
    "cauchy_pressure_GPa",
    "v_longitudinal_km_s",
    "v_transverse_km_s",
    "velocity_ratio",
    "v_average_km_s",
)


#: column → "symbol, name (unit)" as in López et al.'s Table 1 (for the book's Table 1 analogue).
DESCRIPTIONS = {
    "lame_lambda_GPa": "λ, 1st Lamé parameter K − 2G/3 (GPa; MEGNet K, G)",
    "bulk_modulus_GPa": "B, bulk modulus K_VRH (GPa; MEGNet)",
    "young_modulus_GPa": "E, Young modulus 9KG/(3K+G) (GPa; MEGNet K, G)",
    "shear_modulus_GPa": "G, shear modulus G_VRH (GPa; MEGNet)",
    "poisson_ratio": "ν, Poisson's ratio (3K−2G)/(2(3K+G)) (MEGNet K, G)",
    "p_wave_modulus_GPa": "σ, P-wave modulus K + 4G/3 (GPa; MEGNet K, G)",
    "vickers_hardness_GPa": "H_V, Vickers hardness, Tian et al. 2012 (GPa; MEGNet K, G)",
    "pugh_ratio": "κ, Pugh's modulus ratio G/K (MEGNet K, G)",
    "cauchy_pressure_GPa": "P_c, Cauchy pressure λ − G (GPa; MEGNet K, G)",
    "v_longitudinal_km_s": "v_l, longitudinal wave velocity √((K+4G/3)/ρ) (km/s)",
    "v_transverse_km_s": "v_t, transverse wave velocity √(G/ρ) (km/s)",
    "velocity_ratio": "v_r, velocity ratio v_l/v_t",
    "v_average_km_s": "⟨v⟩, average (Debye) wave velocity (km/s)",
}


def vickers_hardness(K, G, model: str = "tian"):
    """Vickers hardness (GPa) from K and G (GPa): Tian et al. 2012, H = 0.92 (G/K)^1.137 G^0.708,
    or Chen et al. 2011, H = 2 ((G/K)² G)^0.585 − 3 (``model="chen"``)."""
    K, G = np.asarray(K, dtype=float), np.asarray(G, dtype=float)
    k = G / K
    if model == "tian":
        return 0.92 * k**1.137 * G**0.708
    if model == "chen":
        return 2.0 * (k**2 * G) ** 0.585 - 3.0
    raise ValueError(f"unknown hardness model {model!r} (tian, chen)")


def elastic_descriptors(K, G, density_g_cm3, *, hardness: str = "tian") -> pd.DataFrame:
    """The 13 M–E descriptors (module docstring) of each material.

    ``K``, ``G``: VRH bulk and shear moduli in GPa (> 0); ``density_g_cm3``: mass density in
    g/cm³.  Wave velocities in km/s: √(GPa / (g/cm³)) = √(10⁹ Pa / 10³ kg m⁻³) = 1 km/s.
    Rows with a non-positive modulus or density give NaN.
    """
    K = np.asarray(K, dtype=float)
    G = np.asarray(G, dtype=float)
    rho = np.asarray(density_g_cm3, dtype=float)
    ok = (K > 0) & (G > 0) & (rho > 0)
    K, G, rho = np.where(ok, K, np.nan), np.where(ok, G, np.nan), np.where(ok, rho, np.nan)
    lam = K - 2.0 * G / 3.0
    M = K + 4.0 * G / 3.0
    v_l = np.sqrt(M / rho)
    v_t = np.sqrt(G / rho)
    out = {
        "lame_lambda_GPa": lam,
        "bulk_modulus_GPa": K,
        "young_modulus_GPa": 9.0 * K * G / (3.0 * K + G),
        "shear_modulus_GPa": G,
        "poisson_ratio": (3.0 * K - 2.0 * G) / (2.0 * (3.0 * K + G)),
        "p_wave_modulus_GPa": M,
        "vickers_hardness_GPa": vickers_hardness(K, G, hardness),
        "pugh_ratio": G / K,
        "cauchy_pressure_GPa": lam - G,
        "v_longitudinal_km_s": v_l,
        "v_transverse_km_s": v_t,
        "velocity_ratio": v_l / v_t,
        "v_average_km_s": ((2.0 / v_t**3 + 1.0 / v_l**3) / 3.0) ** (-1.0 / 3.0),
    }
    return pd.DataFrame({c: np.atleast_1d(out[c]) for c in COLUMNS})


def cubic_vrh(C11, C12, C44) -> tuple[float, float]:
    """Voigt–Reuss–Hill bulk and shear moduli (GPa) of a cubic crystal from C11, C12, C44 (GPa).

    K_V = K_R = (C11 + 2 C12)/3; G_V = (C11 − C12 + 3 C44)/5; G_R = 5 (C11 − C12) C44 /
    (4 C44 + 3 (C11 − C12)); G = (G_V + G_R)/2 (Hill, Proc. Phys. Soc. A 65, 349, 1952) — the
    averages MEGNet's training targets (Materials Project K_VRH, G_VRH) use.
    """
    K = (C11 + 2.0 * C12) / 3.0
    g_v = (C11 - C12 + 3.0 * C44) / 5.0
    g_r = 5.0 * (C11 - C12) * C44 / (4.0 * C44 + 3.0 * (C11 - C12))
    return float(K), float(0.5 * (g_v + g_r))


def isotropic_kg(E, G) -> tuple[float, float]:
    """K and G (GPa) of an isotropic (polycrystalline) sample from its Young and shear moduli:
    ν = E/(2G) − 1, K = E / (3 (1 − 2ν))."""
    nu = E / (2.0 * G) - 1.0
    return float(E / (3.0 * (1.0 - 2.0 * nu))), float(G)


#: Published room-temperature elastic data of Li compounds, for the experimental check of the M–E
#: descriptors.  ``cij``: single-crystal C11, C12, C44 (GPa; VRH-averaged by :func:`cubic_vrh`);
#: ``EG``: polycrystal Young and shear moduli (GPa; :func:`isotropic_kg`); ``structure``: how the
#: cell is built (rock salt / antifluorite with the room-temperature lattice constant ``a`` in Å),
#: or ``"obelix"`` with a formula to look up; ``HV``: measured Vickers hardness (GPa) if reported.
EXPERIMENTAL_LI = (
    {
        "material": "Li2O",
        "structure": ("antifluorite", 4.611),
        "cij": (202.0, 21.5, 58.6),
        "source": "Hull, Farley, Hayes & Hutchings, J. Nucl. Mater. 160, 125 (1988), neutron scattering, 293 K",
    },
    {
        "material": "LiF",
        "structure": ("rocksalt", 4.026),
        "cij": (111.2, 42.0, 62.8),
        "source": "single-crystal ultrasonics, 295 K, as compiled in Simmons & Wang, Single Crystal Elastic "
        "Constants and Calculated Aggregate Properties (MIT Press, 1971)",
    },
    {
        "material": "LiCl",
        "structure": ("rocksalt", 5.130),
        "cij": (49.4, 22.8, 24.6),
        "source": "single-crystal ultrasonics, 295 K, as compiled in Simmons & Wang (1971)",
    },
    {
        "material": "LiBr",
        "structure": ("rocksalt", 5.501),
        "cij": (39.4, 18.8, 19.1),
        "source": "single-crystal ultrasonics, 295 K, as compiled in Simmons & Wang (1971)",
    },
    {
        "material": "LiI",
        "structure": ("rocksalt", 6.000),
        "cij": (28.5, 14.0, 14.8),
        "source": "single-crystal ultrasonics, 295 K, as compiled in Simmons & Wang (1971)",
    },
    {
        "material": "Li7La3Zr2O12 (cubic, Al-doped)",
        "structure": ("obelix", "La3Zr2"),
        "EG": (149.8, 59.6),
        "HV": 6.3,
        "source": "Ni, Case, Sakamoto et al., J. Mater. Sci. 47, 7978 (2012): resonant ultrasound, "
        "hot-pressed Li6.24La3Zr2Al0.24O11.98, porosity 3 %; Vickers 6.3 ± 0.3 GPa",
    },
)


def prototype_structure(material: str, kind: str, a: float) -> Structure:
    """The cubic cell of a Li compound of :data:`EXPERIMENTAL_LI`: ``kind`` ``"rocksalt"`` (LiX,
    Fm-3m, Li 4a, X 4b) or ``"antifluorite"`` (Li2O, Fm-3m, O 4a, Li 8c), lattice constant ``a`` (Å)."""
    lattice = Lattice.cubic(a)
    if kind == "rocksalt":
        anion = material.removeprefix("Li")
        return Structure.from_spacegroup(225, lattice, ["Li", anion], [[0, 0, 0], [0.5, 0.5, 0.5]])
    if kind == "antifluorite":
        return Structure.from_spacegroup(225, lattice, ["O", "Li"], [[0, 0, 0], [0.25, 0.25, 0.25]])
    raise ValueError(f"{material}: unknown prototype {kind!r} (rocksalt, antifluorite)")


def experimental_reference() -> pd.DataFrame:
    """:data:`EXPERIMENTAL_LI` as a table: material, K_exp_GPa, G_exp_GPa, HV_exp_GPa, source."""
    rows = []
    for e in EXPERIMENTAL_LI:
        K, G = cubic_vrh(*e["cij"]) if "cij" in e else isotropic_kg(*e["EG"])
        rows.append(
            {
                "material": e["material"],
                "K_exp_GPa": K,
                "G_exp_GPa": G,
                "HV_exp_GPa": e.get("HV", np.nan),
                "source": e["source"],
            }
        )
    return pd.DataFrame(rows).set_index("material")


def join_elastic(table: pd.DataFrame, moduli: pd.DataFrame, n_failed: int = 0) -> tuple[pd.DataFrame, str]:
    """The 13 M–E columns of every row of ``table`` whose id has K and G in ``moduli``.

    ``moduli``: ``K_VRH_GPa``, ``G_VRH_GPa`` indexed like ``table`` (MEGNet's predictions, see
    chapter 04); the density is the table's ``density`` column (g/cm³, occupancy-weighted for
    partially occupied structures).  Returns ``(table, status)``.
    """
    m = moduli.reindex(table.index)
    desc = elastic_descriptors(m["K_VRH_GPa"], m["G_VRH_GPa"], table["density"])
    desc.index = table.index
    out = pd.concat([table.drop(columns=[c for c in COLUMNS if c in table]), desc], axis=1)
    n = int(desc.notna().all(axis=1).sum())
    return out, (
        f"added: 13 M–E columns for {n} of {len(table)} materials ({100 * n / max(len(table), 1):.1f} %; "
        f"MEGNet failed for {n_failed})"
    )
