"""matmap_utils — the tested library behind the matmap book, one room per study.

* :mod:`matmap_utils.core` — settings, paths, keyed caches, process pools, torch device;
* :mod:`matmap_utils.data` — the hash-checked registry, CIF reading, dataset loaders, trajectories;
* :mod:`matmap_utils.materials_map` — Yamaguchi et al. 2023: descriptors, BVSE migration energies,
  the autoencoder map (chapters 01-02);
* :mod:`matmap_utils.transport` — López et al. 2023: diffusion, vibrations, MD, SSE descriptors,
  correlations, classes (chapters 03-05);
* :mod:`matmap_utils.screening` — McHaffie et al. 2025: MEGNet, AtomSets, validation, screening
  (chapter 06);
* :mod:`matmap_utils.chapters` — what each chapter reads and writes; chapter-specific assembly;
* :mod:`matmap_utils.book`, :mod:`matmap_utils.cli` — executing/building the book; the command line;
* :mod:`matmap_utils.viz` — the book's figure style and offline interactive output.

Imports point one way: core ← data ← {materials_map, transport, screening} ← chapters ← book ← cli
(enforced by import-linter, ``make lint``).  The map for developers is ``book/developing.md``.
"""

__version__ = "0.1.0"

import warnings as _warnings

# tqdm.auto (imported by some dependencies) warns in every notebook without ipywidgets; our
# progress bars are plain text and off in executed notebooks, so this one warning is noise.
_warnings.filterwarnings("ignore", message="IProgress not found")
