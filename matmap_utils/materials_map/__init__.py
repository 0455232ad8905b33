"""matmap_utils.materials_map — the materials map of Yamaguchi et al., "Drawing a materials map
with an autoencoder for lithium ionic conductors", Sci. Rep. 13, 16799 (2023),
doi:10.1038/s41598-023-43921-1.

It serves chapter ``01_descriptors`` (descriptors and Li migration energies of the Li–O set) and
chapter ``02_autoencoder_map`` (the autoencoder map, Figs. 2–8 and Table 1 of the paper); the
chapter-specific figures and tables are assembled in :mod:`matmap_utils.chapters.ch01_descriptors`
and :mod:`matmap_utils.chapters.ch02_autoencoder_map`.  Modules (import them directly; nothing
is re-exported here):

* :mod:`~matmap_utils.materials_map.descriptors` — the 1,782-number compositional and 858-number
  structural descriptors: layouts (``comp_spec``, ``struct_spec``, ``DescriptorSpec``),
  ``composition_descriptor``, ``structure_descriptor``, ``featurize``, the cached parallel
  ``describe`` (``DescriptorResult``), block-maximum scaling (``fit_scaler``, ``transform``,
  ``save_scaler``, ``load_scaler``), ``block_summary``, ``voronoi_volumes``, ``DescriptorError``.
* :mod:`~matmap_utils.materials_map.geometry` — the geometric blocks of the structural
  descriptor: ``neighbor_list``, ``partial_rdfs``, ``bond_angle_histograms``, ``voronoi_cells``,
  ``voronoi_histograms``, ``class_weights``, ``smooth_histogram`` and the class constants.
* :mod:`~matmap_utils.materials_map.bvse` — Li migration energies from bond-valence site-energy
  landscapes (bvlain): ``bvse_barriers``, ``percolation_barriers``, the cached parallel
  ``migration_table`` (E_1D, E_2D, E_3D, ME = E_3D in eV), oxidation states,
  ``compare_with_paper`` and ``PAPER_TABLE1`` (the paper's Table 1 MEs).
* :mod:`~matmap_utils.materials_map.autoencoder` — the model (Eqs. 1–4): ``MapConfig``,
  ``MaterialsMap`` (encode, decode, predict ME, map axes), ``make_split``, ``evaluate``,
  ``r2_flat``, ``save_map``/``load_map``, ``synthetic_descriptors``.
* :mod:`~matmap_utils.materials_map.training` — the batched sweep over the loss weight W
  (``train_maps``, ``cached_sweep``, ``SweepResult``, ``history_frame``) and the paper's grid
  search (``grid_search``, ``cached_grid_search``, ``grid_key``).
* :mod:`~matmap_utils.materials_map.analysis` — reading a trained map: ``place_structures``,
  ``map_coordinates``, ``per_sample_loss``, ``mean_descriptor_r2``, ``molar_fractions``,
  ``family_members``, ``me_landscape``, ``lowest_me_within``, ``sparse_low_me_window``,
  ``decoded_composition``, ``nearest_materials``, ``knn_r2``, ``alternative_maps`` (PCA/UMAP) and
  ``PAPER_TABLE1`` (Table 1 with the paper's map codes).

Layering: this package imports ``matmap_utils.core`` and ``matmap_utils.data`` only — never
``transport``, ``screening``, ``chapters``, ``book`` or ``cli``.
"""
