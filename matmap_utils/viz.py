"""Figures for the book: one style, offline interactive output.

* :func:`show_plotly` embeds a plotly figure *with its JavaScript inline* (never a CDN), so the
  HTML book works offline.  Do not call ``fig.show()`` in notebooks.
* :func:`interactive_table` renders a searchable, sortable table with itables in offline mode.
"""

from __future__ import annotations

import matplotlib as mpl
import seaborn as sns
from IPython.display import HTML, display

_PLOTLY_JS_DONE = False


def set_style() -> None:
    """The book's matplotlib defaults (readable in HTML, colour-blind friendly)."""

    sns.set_theme(context="notebook", style="ticks", palette="colorblind")
    mpl.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "figure.autolayout": False,
            "axes.titlesize": "medium",
            "image.cmap": "viridis",
        }
    )


def show_plotly(fig, *, height: int | None = None):
    """Display a plotly figure as self-contained HTML (plotly.js embedded, no network needed)."""

    if height is not None:
        fig.update_layout(height=height)
    html = fig.to_html(include_plotlyjs=True, full_html=False, config={"displaylogo": False, "responsive": True})
    display(HTML(html))


def interactive_table(df, **kwargs):
    """A searchable, sortable HTML table (itables) with its JavaScript embedded (works offline).

    Unlike ``itables.init_notebook_mode`` this does not change how later DataFrames display.
    """
    from itables import options
    from itables.javascript import generate_init_offline_itables_html, to_html_datatable

    opts = {"maxBytes": 0, "lengthMenu": [10, 25, 100], "classes": "display compact"}
    opts.update(kwargs)
    global _ITABLES_INIT
    init = "" if _ITABLES_INIT else generate_init_offline_itables_html(options.dt_bundle)
    _ITABLES_INIT = True
    display(HTML(init + to_html_datatable(df, connected=False, **opts)))


_ITABLES_INIT = False
