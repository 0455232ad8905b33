"""López et al.'s 13 mechanical–elastic (M–E) descriptors from the bulk and shear moduli.

López et al. (Mater. Horiz. 10, 1757, 2023, Table 1) list 13 M–E descriptors computed with DFT
elastic tensors but give no formulas.  With the Voigt–Reuss–Hill bulk modulus K and shear modulus
G (here: MEGNet's log10K/log10G models, trained on Materials Project VRH moduli) and the mass
density ρ, all 13 follow in the isotropic approximation:

=================  ==============================  =====================================  ============
symbol             descriptor                      formula                                unit
=================  ==============================  =====================================  ============
B                  bulk modulus                    K                                      GPa
G                  shear modulus                   G                                      GPa
E                  Young's modulus                 9KG / (3K + G)                         GPa
λ                  1st Lamé parameter              K − 2G/3                               GPa
ν                  Poisson's ratio                 (3K − 2G) / (2(3K + G))                –
σ (M)              P-wave modulus                  K + 4G/3                               GPa
κ                  Pugh's modulus ratio            G / K  (Pugh 1954)                     –
P_c                Cauchy pressure                 C12 − C44 = λ − G = K − 5G/3           GPa
H_V                Vickers hardness                0.92 κ^1.137 G^0.708 (Tian et al. 2012) GPa
v_l                longitudinal wave velocity      √(M/ρ)                                 km/s
v_t                transverse wave velocity        √(G/ρ)                                 km/s
v_r                velocity ratio                  v_l / v_t                              –
⟨v⟩                average (Debye) velocity        [(2/v_t³ + 1/v_l³)/3]^(−1/3)           km/s
=================  ==============================  =====================================  ============

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
