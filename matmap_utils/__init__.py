"""matmap_utils — the tested library behind the matmap book.

One module per concern:

* :mod:`matmap_utils.data` — hash-checked registry over the offline mirror and loaders.
* :mod:`matmap_utils.core.cache` — content-hash keys and atomic writes for cached results.
* :mod:`matmap_utils.core.parallel` — process-parallel maps with per-item error capture and timeouts.
* :mod:`matmap_utils.data.structures` — robust reading of user CIFs (bad files reported, not fatal).
* :mod:`matmap_utils.chapters.results` — ``results/NN_name/metrics.json`` and tables written by notebooks.
* :mod:`matmap_utils.core.runtime` — picks a GPU automatically when one is present.
"""

__version__ = "0.1.0"

import warnings as _warnings

# tqdm.auto (imported by some dependencies) warns in every notebook without ipywidgets; our
# progress bars are plain text and off in executed notebooks, so this one warning is noise.
_warnings.filterwarnings("ignore", message="IProgress not found")
