"""matmap_utils.book — executing the notebooks and building the Jupyter Book.

Serves ``make book``, ``matmap book`` and ``matmap run``.  Exposes:

* :mod:`~matmap_utils.book.profiles` — ``params/<profile>.yaml`` and the parameters a notebook
  declares (unknown parameters are refused);
* :mod:`~matmap_utils.book.execute` — papermill execution, skipped when nothing a notebook depends
  on changed (its source, the library files it imports, its parameters, the registry, the
  upstream chapters declared in :mod:`matmap_utils.chapters.declarations`);
* :mod:`~matmap_utils.book.build` — the HTML build (warnings are errors) and the offline check;
* :mod:`~matmap_utils.book.pages` — the generated pages (data provenance, performance,
  reproducibility).
"""
