"""Screening Li compounds for superionic conduction — the study of McHaffie et al., Digital
Discovery 4, 1518 (2025), built on MEGNet (Chen et al., Chem. Mater. 31, 3564 (2019)).

Chapter: ``notebooks/06_atomsets_screening.py`` (glue in
:mod:`matmap_utils.chapters.ch06_atomsets_screening`).  Command-line tools: ``matmap megnet``
(MEGNet formation energies, band gaps and V0-V3 site features of CIFs) and ``matmap screen``
(P(superionic) of CIFs with the ensemble the chapter saves).

Sub-packages and modules:

* :mod:`~matmap_utils.screening.megnet` — the pretrained MEGNet models in torch (graphs, model,
  pool inference with caching, numba kernels, symmetry-reduced graphs);
* :mod:`~matmap_utils.screening.atomsets` — the AtomSets classifier (configurations, features,
  vectorized ensemble model, training, numba kernels);
* :mod:`~matmap_utils.screening.simplify` — the CAMN / CAN / CAMNS / CANS structure simplifications;
* :mod:`~matmap_utils.screening.splits` — the paper's k-fold and LOCO folds, ElMD clustering;
* :mod:`~matmap_utils.screening.metrics` — AUC-PR, MCC, ROC-AUC and mean / shuffled controls;
* :mod:`~matmap_utils.screening.cv` — cross-validation of AtomSets and of any predictor, the
  pre-training comparison;
* :mod:`~matmap_utils.screening.baselines` — Sendek et al.'s features and the logistic regression;
* :mod:`~matmap_utils.screening.hpo` — Ray Tune + HyperOpt search over the paper's space;
* :mod:`~matmap_utils.screening.candidates` — screening a pool: P_SI, distance to the training
  data, compositional novelty, the saved screening model.

This study package imports only :mod:`matmap_utils.core` and :mod:`matmap_utils.data`.
"""
