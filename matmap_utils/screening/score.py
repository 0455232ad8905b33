"""Score structures with the saved AtomSets ensemble: P_SI ± SD, metal filter, domain, novelty, verdict.

The one scoring path of ``matmap screen FILE``, of the candidate report (notebook 07) and of the
pool screening (``matmap screen --pool``, :mod:`matmap_utils.chapters.pool_screening`): each
structure is simplified as the ensemble was trained (CAMNS by default), featurized with the MEGNet
port (:func:`featurize`) and scored by every member (McHaffie et al. 2025, Sec. 2.4 and 3.3); the
band-gap filter uses the known gap — the Materials Project gap when the structure is named after an
MP id with a known gap (:func:`mp_gaps`) — else MEGNet's metal classifier and band-gap model
(:func:`matmap_utils.screening.filters.band_gap_filter`).  :func:`score_featurized` computes chapter
06's screening columns (:data:`SCORED_COLUMNS`) from the featurized structures; ``matmap screen FILE``
shows them as :data:`COLUMNS` (:func:`cli_view`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from matmap_utils.data.datasets import load_mp_band_gaps
from matmap_utils.screening import candidates, filters
from matmap_utils.screening.atomsets import features
from matmap_utils.screening.megnet import pool
from matmap_utils.screening.megnet.properties import pool_properties

#: the columns of :func:`score_structures`, in order (``name`` is the index)
COLUMNS = [
    "name",
    "formula",
    "disordered",
    "P_SI",
    "P_SI_std",
    "P_nonmetal",
    "Eg_eV",
    "Eg_source",
    "d_train",
    "domain",
    "novel",
    "verdict",
]

#: the columns of :func:`score_featurized`, in order: chapter 06's screening table
#: (:func:`matmap_utils.chapters.ch06_screening.screening_table`) and the pool screening's table
SCORED_COLUMNS = [
    "formula",
    "P_SI",
    "P_SI_std",
    "d_train",
    "out_of_domain",
    "nsites",
    "Eg",
    "Eg_source",
    "P_nonmetal",
    "metal",
    "gap_reason",
    "passes_gap",
    "disordered",
    "novel",
    "verdict",
    "candidate",
]


def mp_id_of(name: str) -> str:
    """a file name ``"mp-1234.cif"`` (in any folder) or ``"mp-1234"`` → ``"mp-1234"`` (the name used to look up an MP gap)."""
    return str(name).split("/")[-1].removesuffix(".cif")


def mp_gaps(names: Sequence[str]) -> pd.Series:
    """The Materials Project band gap (eV) of each name (:func:`mp_id_of`; NaN where the mirror's
    ``ionnet/Li-MP-final.csv`` has none), indexed by ``names``."""
    mp = load_mp_band_gaps()["mp_band_gap_eV"]
    return pd.Series([mp.get(mp_id_of(n)) for n in names], index=list(names), dtype=float)


def featurize(bundle: dict, series: pd.Series) -> tuple[dict, list[tuple[str, str]]]:
    """Site-feature matrices of ``series`` (structures indexed by name) as ``bundle``'s ensemble was
    trained (its simplification ``mode`` and MEGNet ``layer``; in this process, not cached):
    ``{name: (n_sites, d) matrix}`` and ``(name, reason)`` of those that could not be featurized."""
    mode, layer = bundle["mode"], bundle["layer"]
    feats, ffail = features.featurize(series, modes=[mode], layers=[layer], n_jobs=1, cache=False)
    return feats[(mode, layer)], [(r["id"], r["reason"]) for _, r in ffail.iterrows()]


def screening_frame(
    model, train_vectors, domain_threshold: float, reference, structures: pd.Series, matrices, known_gaps, megnet_gap, p_nonmetal
) -> pd.DataFrame:  # fmt: skip
    """Chapter 06's screening table (:data:`SCORED_COLUMNS`, index of ``structures``) of featurized
    structures, from what is already known of them: ``matrices`` (site features, aligned with
    ``structures``), ``known_gaps`` / ``megnet_gap`` (eV) and ``p_nonmetal`` (Series by name; NaN =
    unknown), scored by the ensemble ``model`` against its ``train_vectors``.

    ``P_SI`` ± ``P_SI_std`` (ensemble mean, SD), ``d_train`` (PCA-normalized distance to the nearest
    training compound) and ``out_of_domain`` (above ``domain_threshold``), the two-stage band-gap
    filter (:func:`filters.band_gap_filter`: ``Eg`` eV, ``Eg_source``, ``P_nonmetal``, ``metal``,
    ``gap_reason``, ``passes_gap``), ``novel`` (no ``reference`` composition within 5 % in every
    element), ``verdict`` and ``candidate``.  The one assembly of chapter 06, ``matmap screen`` and
    the pool screening."""
    ok = list(structures.index)
    scr = candidates.screen_sets(model, list(matrices), train_vectors)
    gap = filters.band_gap_filter(known_gaps, p_nonmetal, megnet_gap).reindex(ok)
    df = pd.DataFrame(
        {
            "formula": [s.composition.reduced_formula for s in structures],
            "P_SI": scr["p_si"],
            "P_SI_std": scr["p_si_std"],
            "d_train": scr["d_train"],
            "out_of_domain": filters.domain_flags(scr["d_train"], domain_threshold),
            "nsites": [len(s) for s in structures],
        },
        index=structures.index,
    )
    for col in ("Eg", "Eg_source", "P_nonmetal", "metal", "gap_reason", "passes_gap"):
        df[col] = gap[col].to_numpy()
    df["Eg_source"] = df["Eg_source"].fillna("none")
    df["disordered"] = [not s.is_ordered for s in structures]
    df["novel"] = filters.novel_against(reference, [s.composition for s in structures])
    df["verdict"] = filters.verdicts(df)
    df["candidate"] = df["verdict"].eq("candidate")
    return df[SCORED_COLUMNS]


def score_featurized(bundle: dict, structures: pd.Series, matrices: Sequence[np.ndarray], known_gaps) -> pd.DataFrame:
    """:func:`screening_frame` of featurized structures with ``bundle``
    (:func:`candidates.load_screening_bundle`: its ensemble, training vectors, domain threshold and
    ``reference_formulas`` as the novelty reference), MEGNet's band gap and metal classifier
    computed here; ``known_gaps`` (eV, aligned with ``structures``; NaN = unknown, e.g.
    :func:`mp_gaps`)."""
    ok = list(structures.index)
    megnet = pool.predict_structures(list(structures), ids=ok)["band_gap_eV"]
    props, _ = pool_properties(structures, names=("nonmetal",), cache=False, n_jobs=1, progress=False)
    refs, _ = filters.reference_compositions(bundle["reference_formulas"])
    return screening_frame(
        bundle["model"],
        bundle["train_vectors"],
        bundle["domain_threshold"],
        refs,
        structures,
        matrices,
        pd.Series(list(known_gaps), index=ok, dtype=float),
        megnet,
        props.get("p_nonmetal", pd.Series(dtype=float)),
    )


def cli_view(scored: pd.DataFrame) -> pd.DataFrame:
    """:func:`score_featurized`'s table as ``matmap screen FILE`` shows it: :data:`COLUMNS`, ``Eg_eV``
    for ``Eg`` and ``domain`` ``"in"``/``"out"`` for ``out_of_domain``."""
    df = scored.rename(columns={"Eg": "Eg_eV"})
    df["domain"] = np.where(scored["out_of_domain"].astype(bool), "out", "in")
    return df[COLUMNS[1:]]


def score_structures(bundle: dict, series: pd.Series) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Score ``series`` (structures indexed by name) with ``bundle`` (:func:`candidates.load_screening_bundle`).

    Returns the table (index ``name``, :data:`COLUMNS`; ``P_SI`` probabilities, ``Eg_eV`` eV,
    ``d_train`` PCA-normalized distance to the nearest training compound) of the structures that
    could be featurized, and ``(name, reason)`` for those that could not.  The MP gap is used for
    names that are MP ids (:func:`mp_gaps`).
    """
    fm, failures = featurize(bundle, series)
    ok = [n for n in series.index if n in fm]
    if not ok:
        return pd.DataFrame(columns=COLUMNS).set_index("name"), failures
    scored = score_featurized(bundle, series.loc[ok], [fm[n] for n in ok], mp_gaps(ok))
    return cli_view(scored.rename_axis("name")), failures
