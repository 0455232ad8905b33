"""AtomSets (Chen & Ong 2021) superionic classifier of McHaffie et al., Digital Discovery 4, 1518
(2025): per-site MEGNet features (Chen et al. 2019) of simplified structures → per-site dense
layers → set2set readout → dense layers → P(superionic).  Used by chapter 06 and ``matmap screen``.

* :mod:`~matmap_utils.screening.atomsets.configs` — feature configurations (``"CAMNS:1"``
  parsing, the features a run needs) and the paper's k-fold architecture (``paper_config``);
* :mod:`~matmap_utils.screening.atomsets.features` — ``featurize`` (simplify + MEGNet V0-V3),
  ``v0_matrix``, ``set_vectors``;
* :mod:`~matmap_utils.screening.atomsets.model` — ``AtomSetsConfig``, the vectorized ensemble
  ``AtomSetsEnsemble``, ``pack_sets`` / ``PackedSets``;
* :mod:`~matmap_utils.screening.atomsets.training` — ``train_ensemble`` (stacked members, blocks
  in parallel processes), ``pretrain``, ``StackedOptimizer``, ``triangular2_lr``;
* :mod:`~matmap_utils.screening.atomsets.kernels` — fused numba segment kernels of the readout.
"""
