"""Score structures with the saved AtomSets ensemble: P_SI ± SD, metal filter, domain, novelty, verdict.

The one scoring path of ``matmap screen`` and of the candidate report (notebook 07): each structure
is simplified as the ensemble was trained (CAMNS by default), featurized with the MEGNet port and
scored by every member (McHaffie et al. 2025, Sec. 2.4 and 3.3); the band-gap filter uses the
Materials Project gap when the structure is named after an MP id with a known gap, else MEGNet's
metal classifier and band-gap model (:func:`matmap_utils.screening.filters.band_gap_filter`).
"""

from __future__ import annotations

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


def mp_id_of(name: str) -> str:
    """a file name ``"mp-1234.cif"`` (in any folder) or ``"mp-1234"`` → ``"mp-1234"`` (the name used to look up an MP gap)."""
    return str(name).split("/")[-1].removesuffix(".cif")


def score_structures(bundle: dict, series: pd.Series) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Score ``series`` (structures indexed by name) with ``bundle`` (:func:`candidates.load_screening_bundle`).

    Returns the table (index ``name``, :data:`COLUMNS`; ``P_SI`` probabilities, ``Eg_eV`` eV,
    ``d_train`` PCA-normalized distance to the nearest training compound) of the structures that
    could be featurized, and ``(name, reason)`` for those that could not.
    """
    failures: list[tuple[str, str]] = []
    mode, layer = bundle["mode"], bundle["layer"]
    feats, ffail = features.featurize(series, modes=[mode], layers=[layer], n_jobs=1, cache=False)
    failures += [(r["id"], r["reason"]) for _, r in ffail.iterrows()]
    fm = feats[(mode, layer)]
    ok = [n for n in series.index if n in fm]
    if not ok:
        return pd.DataFrame(columns=COLUMNS).set_index("name"), failures
    scr = candidates.screen_sets(bundle["model"], [fm[n] for n in ok], bundle["train_vectors"])
    gaps = pool.predict_structures([series[n] for n in ok], ids=ok)
    props, _ = pool_properties(series.loc[ok], names=("nonmetal",), cache=False, n_jobs=1, progress=False)
    mp = load_mp_band_gaps()["mp_band_gap_eV"]
    eg_mp = pd.Series({n: mp.get(mp_id_of(n)) for n in ok}, dtype=float)
    gap = filters.band_gap_filter(eg_mp, props.get("p_nonmetal", pd.Series(dtype=float)), gaps["band_gap_eV"])
    refs, _ = filters.reference_compositions(bundle["reference_formulas"])
    df = pd.DataFrame(
        {
            "formula": [series[n].composition.reduced_formula for n in ok],
            "disordered": [not series[n].is_ordered for n in ok],
            "P_SI": scr["p_si"],
            "P_SI_std": scr["p_si_std"],
            "P_nonmetal": gap["P_nonmetal"].reindex(ok).to_numpy(),
            "Eg_eV": gap["Eg"].reindex(ok).to_numpy(),
            "Eg_source": gap["Eg_source"].reindex(ok).to_numpy(),
            "d_train": scr["d_train"],
            "domain": ["out" if f else "in" for f in filters.domain_flags(scr["d_train"], bundle["domain_threshold"])],
            "novel": filters.novel_against(refs, [series[n].composition for n in ok]),
            "gap_reason": gap["gap_reason"].reindex(ok).to_numpy(),
        },
        index=pd.Index(ok, name="name"),
    )
    df["verdict"] = filters.verdicts(df)
    return df.drop(columns=["gap_reason"]), failures
