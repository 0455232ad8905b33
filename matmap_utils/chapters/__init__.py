"""matmap_utils.chapters — the glue between the book's chapters and the study packages.

This is the only code that knows notebook names and ``results/`` paths.  It exposes:

* :mod:`~matmap_utils.chapters.declarations` — every chapter, its part of the book, and which
  upstream chapters' results it reads; the book's execution order and its re-execution
  dependencies are derived from these declarations (:func:`~.declarations.upstream_of`);
* :mod:`~matmap_utils.chapters.results` — what a notebook leaves behind (``metrics.json``, tables,
  figures) and how a chapter reads an upstream chapter's tables (only those it declares);
* ``chNN_*`` modules — chapter-specific assembly (tables, figure data, text) that used to sit in
  notebook cells; each is tested like the rest of the package.

Layering: ``chapters`` may import the study packages (``materials_map``, ``transport``,
``screening``), ``data`` and ``core``; none of those imports ``chapters``.
"""
