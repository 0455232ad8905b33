"""MEGNet (Chen et al., Chem. Mater. 31, 3564 (2019); ``megnet==1.3.2``) in torch: the pretrained
Materials Project formation-energy and band-gap models, offline and equal to the Keras original
(fixtures in ``tests/fixtures/megnet``) — the feature extractor of McHaffie et al., Digital
Discovery 4, 1518 (2025) (chapter 06; ``matmap megnet``, and through AtomSets ``matmap screen``).

* :mod:`~matmap_utils.screening.megnet.graph` — crystal graphs (bonds within the cutoff,
  Gaussian distance expansion): ``structure_arrays``, ``graph_from_arrays``, ``build_graphs``,
  ``MEGNetGraph``, ``MEGNetGraphError``;
* :mod:`~matmap_utils.screening.megnet.weights` — reading the Keras HDF5 and JSON files
  (``read_keras_hdf5``, ``read_model_json``, ``Scaler``, ``file_sha256``);
* :mod:`~matmap_utils.screening.megnet.ops` — activations and segment operations of the layers;
* :mod:`~matmap_utils.screening.megnet.model` — ``MEGNetModel`` (predictions and V0-V3 site
  features), ``load_model``, ``model_files``;
* :mod:`~matmap_utils.screening.megnet.pool` — a pool of structures in cached chunks
  (``pool_compute``, ``pool_predictions``, ``pool_features``, ``predict_structures``,
  ``megnet_vs_mp_band_gaps``, ``SiteFeatures``);
* :mod:`~matmap_utils.screening.megnet.kernels` — fused numba bias + softplus kernels;
* :mod:`~matmap_utils.screening.megnet.symmetry` — equivalent atoms and quotient graphs.
"""
