"""matmap_utils.transport — the ion-transport study of López et al. (Mater. Horiz. 10, 1757, 2023):
diffusion coefficients and anharmonic vibrational descriptors from molecular dynamics, their
correlations with ionic transport (Figs. 1–3) and the principal components and classes of solid
electrolytes (Figs. 4–5).

Chapters of the book built on it (their glue lives in :mod:`matmap_utils.chapters`):

* **03_aimd_trajectories** — D (Eqs. 3–4), VDOS (Eq. 5) and vibrational descriptors (Eqs. 6–7,
  Table 1) of public DFT-AIMD runs and of CHGNet runs generated here;
* **04_correlograms** — the descriptor table of OBELiX structures, Spearman/Pearson correlograms
  (Figs. 1–2) and the paper's MLP (Fig. 3, Eq. 8); reads chapter 03's MD table;
* **05_clustering** — PCA by descriptor category (Fig. 4) and k-means classes (Fig. 5); reads
  chapter 04's descriptor table.

Modules and what they expose:

* :mod:`~.diffusion` — FFT mean-squared displacement (Eq. 3), D with x/y/z components and
  block-averaging error (Eq. 4), drift removal, Arrhenius fits, Nernst–Einstein conductivity;
* :mod:`~.vibrations` — velocities (stored or finite differences), VACF, VDOS (Eq. 5), ⟨ω⟩, ⟨ω30⟩
  and the harmonic E/F/S/Cv of the VDOS, Debye temperature, Lindemann ratio, diffusive ions,
  kinetic temperature;
* :mod:`~.runs` — tables over many runs: reading the registered AIMD runs, per-condition pooled D,
  one descriptor row per run, the generated CHGNet set, Arrhenius tables, the equipartition check
  of a file's frame interval;
* :mod:`~.reference` — the same D from kinisi and pymatgen-analysis-diffusion, and
  :func:`~.reference.compare_estimators` that puts the three side by side;
* :mod:`~.md` — CHGNet NVT runs through ASE (``matmap md``) and the list of generated runs;
* :mod:`~.sse_descriptors` — occupancy-weighted structural–compositional descriptors of
  (disordered) Li conductors, the cached table over a structure database, and the joins of
  McHaffie et al.'s labels, MEGNet predictions and BVSE barriers (computed by the chapter);
* :mod:`~.sse_categories` — the Table 1 catalogue: descriptor → category (M–E, D–V, S–C) and group;
* :mod:`~.sse_md` — chapter 03's MD descriptors reduced and joined to the structure table;
* :mod:`~.elastic` — the 13 mechanical–elastic descriptors from bulk and shear moduli;
* :mod:`~.correlations` — pairwise-complete correlation matrices with p-values, correlations
  with a target, correlogram and bar figures;
* :mod:`~.mlp` — the paper's MLP regressor, leave-one-group-out validation, the mean-normalised
  MAPE (Eq. 8), and the with/without-vibrations comparison on an MD table;
* :mod:`~.clustering` — standardization, PCA and loadings by category, k-means scans with elbow,
  silhouette and stability, the choice of k, class compositions and profiles.

Trajectories themselves (the :class:`~matmap_utils.data.trajectories.Trajectory` type and its
readers) live in :mod:`matmap_utils.data.trajectories`. This package imports ``core`` and ``data``
only — never the other studies, nor ``chapters``, ``book`` or ``cli``.
"""
