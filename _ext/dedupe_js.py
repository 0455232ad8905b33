"""Sphinx extension: drop duplicate ``<script>`` entries from each page's context.

Sphinx 7.x, which Jupyter Book 1.x requires, can list a script twice when the same file or inline
script is added by two extensions (sphinx-doc/sphinx#13402, fixed in Sphinx 8.2); an inline script
that declares a ``const`` (sphinx-thebe's ``THEBE_JS_URL``) then raises "Identifier has already
been declared" in the browser on every page.  This keeps the first of identical entries.
"""

from __future__ import annotations


def _key(script) -> tuple:
    """File name (None and "" alike: both mean an inline script) and attributes of a script entry."""
    name = getattr(script, "filename", script) or ""
    attrs = getattr(script, "attributes", {}) or {}
    return (str(name), tuple(sorted((k, str(v)) for k, v in attrs.items())))


def dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    """``html-page-context`` handler: remove repeated script entries, keeping their order."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for s in scripts:
        k = _key(s)
        if k not in seen:
            seen.add(k)
            kept.append(s)
    scripts[:] = kept


def setup(app):
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
