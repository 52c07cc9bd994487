"""Streamlit with the pages' heavy modules imported at start, so that the first visit does not pay for them.

`peer-outcomes dashboard` runs `python -m peer_outcomes.dashboard.serve run app.py …` (the arguments of
`streamlit run`). Streamlit runs the app script in this process at every visit, and a module is imported
once a process: pandas, plotly, DuckDB, the published layer and the curve pages' models (scipy.special,
scipy.sparse) cost 1.2–2.7 s to import here, which the first visit after a start paid. Imported before the server
answers, they are paid at start instead. Only modules that make no Streamlit call at import are loaded:
the dashboard's own modules (caches, widgets) are left to the app, where Streamlit's runtime exists.
"""

from __future__ import annotations

import sys


def preload() -> None:
    """Import what every page's first run would (the dashboard's own modules excepted)."""
    import duckdb  # noqa: F401
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401
    import scipy.sparse  # noqa: F401  (the relapse Cox model on a site's or track's mostly empty risk table)

    from peer_outcomes.analysis import competing, cox, km, published  # noqa: F401


def main() -> None:
    """Preload, then hand the command line to Streamlit's own (`streamlit run …`)."""
    preload()
    from streamlit.web import cli

    sys.argv = ["streamlit", *sys.argv[1:]]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
