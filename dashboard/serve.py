"""Streamlit with the pages' heavy modules imported at start, so that the first visit does not pay for them.

`peer-outcomes dashboard` runs `python -m peer_outcomes.dashboard.serve run app.py …` (the arguments of
`streamlit run`). Streamlit runs the app script in this process at every visit, and a module is imported
once a process: pandas, plotly, DuckDB, the published layer and the curve pages' models (scipy.special,
scipy.sparse) cost 1.2–2.7 s to import here, which the first visit after a start paid. Imported before the server
answers, they are paid at start instead. Only modules that make no Streamlit call at import are loaded:
the dashboard's own modules (caches, widgets) are left to the app, where Streamlit's runtime exists.
The lookups every page asks for first, kept once per load (`queries.per_load`: settings, small cells,
enrollment periods, the sidebar's choices), are read at start too: about 0.6 s at 10 million people.
"""

from __future__ import annotations

import os
import sys


def preload() -> None:
    """Import what every page's first run would (the dashboard's own modules excepted)."""
    import duckdb  # noqa: F401
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401
    import scipy.sparse  # noqa: F401  (the relapse Cox model on a site's or track's mostly empty risk table)

    from peer_outcomes.analysis import competing, cox, km, published  # noqa: F401


def warm(db: str) -> None:
    """Read the per-load lookups of the whole warehouse (a role limited to some sites reads its own at its
    first visit). A warehouse that cannot be read is left to the app, which says why in one sentence."""
    from peer_outcomes.analysis import population, published, queries
    from peer_outcomes.pipelines.errors import UserError

    everyone = ((), ())  # allowed sites and programs as the app passes them for a role that sees all (memo keys)
    try:
        queries.data_version(db)
        queries.settings(db)
        queries.small_cell_keys(db)
        published.filter_options(db, *everyone)
        population.left_out_notes(db, *everyone)
    except UserError:
        pass


def main() -> None:
    """Preload and warm, then hand the command line to Streamlit's own (`streamlit run …`)."""
    preload()
    if os.environ.get("PEER_OUTCOMES_DB"):
        warm(os.environ["PEER_OUTCOMES_DB"])
    from streamlit.web import cli

    sys.argv = ["streamlit", *sys.argv[1:]]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
