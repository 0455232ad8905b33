"""matmap_utils.data — the public data the book runs on, read the same way everywhere.

Serves chapter 00 (the data) and every study.  Exposes:

* :mod:`~matmap_utils.data.registry` — the registry (URL + sha256 of every file), ``fetch``
  (mirror first, then a hash-checked download), ``verify``;
* :mod:`~matmap_utils.data.structures` — robust CIF reading (one bad file → a reason, not a
  crash), cached parsing of whole datasets, symmetry summaries;
* :mod:`~matmap_utils.data.datasets` — loaders: the Materials Project Li pool, OBELiX, McHaffie
  et al.'s labels and splits, the AIMD runs, IonNet's MP band gaps;
* :mod:`~matmap_utils.data.trajectories` — the :class:`~matmap_utils.data.trajectories.Trajectory`
  container and readers of XDATCAR, extended XYZ, ASE .traj, pymatgen-diffusion JSON, position
  arrays (Å, fs, K).
"""
