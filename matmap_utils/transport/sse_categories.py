"""The descriptor catalogue of López et al. 2023, Table 1: which column is which descriptor.

* :data:`DESCRIPTORS` — every structure-derived column of :mod:`matmap_utils.transport.sse_descriptors`
  with its category and a short description (symbol and unit as in the paper's Table 1);
* :data:`CATEGORIES` — column → category code (``"S-C"`` structural–compositional, ``"D-V"``
  diffusive–vibrational, ``"M-E"`` mechanical–elastic), including the optional joins (MEGNet,
  BVSE) and the ``md_*`` columns of :mod:`matmap_utils.transport.sse_md`;
* :data:`SUBCATEGORIES` — finer groups inside the categories (ours are nearly all S–C, so the PCA
  loadings of Fig. 4 are also aggregated by these);
* :func:`category`, :func:`subcategory`, :func:`descriptor_columns`, :func:`category_table` (the
  Table 1 analogue); :func:`normalize_family` merges spelling variants of OBELiX's ``Family``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from matmap_utils.transport.elastic import COLUMNS as ELASTIC_COLUMNS
from matmap_utils.transport.elastic import DESCRIPTIONS as ELASTIC_DESCRIPTIONS

CATEGORY_NAMES = {
    "M-E": "mechanical–elastic",
    "D-V": "diffusive–vibrational",
    "S-C": "structural–compositional",
}


#: column → (category, symbol / short description). Numeric descriptors only, plus ``anion_class``.
DESCRIPTORS: dict[str, tuple[str, str]] = {
    "volume_per_fu": ("S-C", "Ω, volume per formula unit (Å^3)"),
    "volume_per_atom": ("S-C", "volume per atom (Å^3)"),
    "n_formula_units": ("S-C", "n, formula units in the cell"),
    "min_lattice_constant": ("S-C", "a_m, minimal lattice constant (Å)"),
    "std_lattice_constants": ("S-C", "⟨abc⟩, std of a, b, c (Å)"),
    "std_lattice_angles": ("S-C", "⟨αβγ⟩, std of α, β, γ (deg)"),
    "n_symmetry_ops": ("S-C", "SO, symmetry operations of the space group (conventional cell)"),
    "spacegroup": ("S-C", "Sym, space-group number"),
    "li_nn_distance": ("S-C", "d_nn, Li–anion nearest-neighbour distance (Å), Li-occupancy weighted"),
    "li_coordination": ("S-C", "N_nn, Li–anion coordination number, occupancy weighted"),
    "li_li_min_distance": ("S-C", "shortest Li–Li distance (Å), split sites < 1.6 Å excluded"),
    "mobile_ion_mass": ("S-C", "M, mobile-ion atomic mass (u)"),
    "mobile_ion_charge": ("S-C", "Z_N, mobile-ion nominal charge"),
    "anion_charge": ("S-C", "mean nominal anion charge"),
    "framework_cation_charge": ("S-C", "mean nominal charge of the non-Li cations (charge balance)"),
    "crystal_polarizability": ("S-C", "α_c, sum of elemental polarizabilities per formula unit (Å^3)"),
    "cm_polarizability_density": ("S-C", "Clausius–Mossotti ratio 4πΣα/(3V)"),
    "li_fraction": ("S-C", "Li atoms / all atoms"),
    "li_density": ("S-C", "Li atoms per nm^3"),
    "density": ("S-C", "mass density (g/cm^3)"),
    "n_elements": ("S-C", "number of elements"),
    "li_site_occupancy": ("S-C", "mean Li occupancy of the Li-containing sites"),
    "disordered_site_fraction": ("S-C", "fraction of sites with partial or mixed occupancy"),
}


CATEGORICAL = ["anion_class"]


#: metadata columns carried in the table (not descriptors)
META = [
    "formula",
    "family",
    "anions",
    "anion_mixed",
    "has_disorder",
    "icsd",
    "split",
    "sigma_rt",
    "log10_sigma",
    "superionic",
    "mchaffie_superionic",
    "loco_cluster",
]


FAMILY_ALIASES = {
    "argyrodite": "argyrodites",
    "halide": "halides",
    "cholorides": "chlorides",
    "nitride": "nitrides",
    "garnet-like": "garnet",
}


def normalize_family(name: Any) -> str:
    """OBELiX ``Family`` label, lower-cased, with its spelling variants merged (``Halide``→``halides``)."""
    if name is None or (isinstance(name, float) and math.isnan(name)):
        return "unknown"
    key = str(name).strip().lower()
    return FAMILY_ALIASES.get(key, key)


#: column → category code ("S-C", "D-V", "M-E"); optional joins register themselves here.
CATEGORIES: dict[str, str] = {k: v[0] for k, v in DESCRIPTORS.items()}


CATEGORIES["anion_class"] = "S-C"


OPTIONAL_CATEGORIES = {
    "megnet_band_gap": "S-C",
    "megnet_formation_energy": "S-C",
    "bvse_barrier_1d": "D-V",
    "bvse_barrier_2d": "D-V",
    "bvse_barrier_3d": "D-V",
    # the 13 M–E descriptors of Table 1 from MEGNet's K and G (matmap_utils.transport.elastic)
    **{c: "M-E" for c in ELASTIC_COLUMNS},
}


CATEGORIES.update(OPTIONAL_CATEGORIES)


#: finer groups inside the paper's categories (ours are nearly all S–C, so the PCA loadings are
#: also aggregated by these); ``md_*`` columns are "vibrational (MD)".
SUBCATEGORIES: dict[str, str] = {
    **{
        c: "cell & symmetry"
        for c in (
            "volume_per_fu",
            "volume_per_atom",
            "n_formula_units",
            "min_lattice_constant",
            "std_lattice_constants",
            "std_lattice_angles",
            "n_symmetry_ops",
            "spacegroup",
            "density",
        )
    },
    **{
        c: "Li environment"
        for c in ("li_nn_distance", "li_coordination", "li_li_min_distance", "li_fraction", "li_density")
    },
    **{
        c: "charge & polarizability"
        for c in (
            "mobile_ion_mass",
            "mobile_ion_charge",
            "anion_charge",
            "framework_cation_charge",
            "crystal_polarizability",
            "cm_polarizability_density",
            "n_elements",
        )
    },
    **{c: "disorder" for c in ("li_site_occupancy", "disordered_site_fraction")},
    "megnet_band_gap": "electronic (MEGNet)",
    "megnet_formation_energy": "electronic (MEGNet)",
    **{c: "migration (BVSE)" for c in ("bvse_barrier_1d", "bvse_barrier_2d", "bvse_barrier_3d")},
    **{c: "elastic (MEGNet)" for c in ELASTIC_COLUMNS},
}


def category(column: str) -> str | None:
    """Table 1 category of a descriptor column (``md_*`` → D–V), or None for non-descriptors."""
    if column.startswith("md_"):
        return "D-V"
    return CATEGORIES.get(column)


def subcategory(column: str) -> str:
    """Finer group of a descriptor column (:data:`SUBCATEGORIES`; ``md_*`` → "vibrational (MD)",
    unknown columns → "other")."""
    if column.startswith("md_"):
        return "vibrational (MD)"
    return SUBCATEGORIES.get(column, "other")


def descriptor_columns(table: pd.DataFrame, *, numeric_only: bool = True) -> list[str]:
    """Descriptor columns of ``table`` in :data:`CATEGORIES` order (numeric ones by default)."""
    cols = [c for c in table.columns if category(c) is not None]
    if numeric_only:
        cols = [c for c in cols if pd.api.types.is_numeric_dtype(table[c])]
    return cols


def category_table(columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Table 1 analogue: descriptor, category, description."""
    cols = list(CATEGORIES) if columns is None else list(columns)
    rows = []
    for c in cols:
        cat = CATEGORIES.get(c, "?")
        rows.append(
            {
                "descriptor": c,
                "category": cat,
                "category_name": CATEGORY_NAMES.get(cat, cat),
                "description": DESCRIPTORS.get(c, (cat, ELASTIC_DESCRIPTIONS.get(c, "")))[1],
            }
        )
    return pd.DataFrame(rows)
