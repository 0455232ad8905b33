"""matmap_utils.core — what every room uses; imports nothing else of the package.

Serves every chapter and command.  Exposes:

* :mod:`~matmap_utils.core.settings` — every ``MATMAP_*`` environment variable, declared once,
  typed and documented (:func:`~matmap_utils.core.settings.get`);
* :mod:`~matmap_utils.core.paths` — repository root, data mirror, user cache folders;
* :mod:`~matmap_utils.core.cache` — :class:`~matmap_utils.core.cache.CacheKind` (kind + explicit
  version + inputs → content key), atomic parquet/npz/JSON writes, no pickles;
* :mod:`~matmap_utils.core.parallel` — :func:`~matmap_utils.core.parallel.parallel_map`: process
  pools with per-item failures and timeouts (one bad item never stops a batch);
* :mod:`~matmap_utils.core.runtime` — the torch device (a GPU when present);
* :mod:`~matmap_utils.core.errors` — errors shared by the command line and the library.
"""
