"""Beyond the papers: benchmarks that nobody in this book designed.

* ``obelix`` — the OBELiX task (Therrien et al., Digital Discovery 2026; arXiv 2502.14234): its target
  (log10 of the room-temperature ionic conductivity, "< 1E-10" read as 1e-15 S/cm as in the
  dataset's own code), its official train/test split and its CIF subset.
* ``features`` — composition and lattice features of the OBELiX paper's random-forest and MLP baselines.
* ``models`` — the baselines (train median, random forest, MLP, gradient boosting) with
  hyperparameters chosen by cross-validation inside the training split only.
* ``metrics`` — regression (MAE) and classification (sigma >= 1e-4 S/cm: AUC-PR, MCC) scores with
  bootstrap 95 % intervals from :mod:`matmap_utils.core.bootstrap`.
* ``paper_config`` — the OBELiX paper's own random forest and MLP (the hyperparameters its code
  records as chosen on the training split), rerun over seeds: the spread one published run can land on.
* ``noise`` — the measurements' own scatter: OBELiX entries of the same composition and space group
  (repeat groups) and the spread of their log10 sigma, the floor under any model's MAE.

Imports only :mod:`matmap_utils.core` and :mod:`matmap_utils.data`; a chapter that combines these
with a study's features (MEGNet, the SSE descriptor table) does so in ``matmap_utils.chapters``.
"""
