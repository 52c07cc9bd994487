"""Streamlit with the pages' heavy modules imported at start, so that the first visit does not pay for them.

`peer-outcomes dashboard` runs `python -m peer_outcomes.dashboard.serve run app.py …` (the arguments of
`streamlit run`). Streamlit runs the app script in this process at every visit, and a module is imported
once a process: pandas, plotly, DuckDB, the published layer and the curve pages' models (scipy.special,
scipy.sparse) cost 1.2–2.7 s to import here, which the first visit after a start paid. Imported before the server
answers, they are paid at start instead. Only modules that make no Streamlit call at import are loaded:
the dashboard's own modules (caches, widgets) are left to the app, where Streamlit's runtime exists.
The lookups every page asks for first, kept once per load (`queries.per_load`: settings, small cells,
enrollment periods, the sidebar's choices), are read at start too, for everyone and for each role's reach in
the sign-in config: about 0.6 s at 10 million people.
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
    """Read the per-load lookups of the whole warehouse, and those of each reach the sign-in config gives a
    role (a site coordinator's sites, a role's programs), under the keys the app asks them by. A warehouse
    that cannot be read is left to the app, which says why in one sentence."""
    from peer_outcomes.analysis import population, published, queries
    from peer_outcomes.pipelines.errors import UserError

    try:
        queries.data_version(db)
        queries.settings(db)
        queries.small_cell_keys(db)
        for sites, programs in reaches():
            published.filter_options(db, sites, programs)
            population.left_out_notes(db, sites, programs)
    except UserError:
        pass


def reaches() -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The allowed sites and programs the app will pass for each role (memo keys): everyone first, then each
    access rule's of the config `dashboard --auth` named. A limited role's first visit read its own lookups
    (0.12 s at 100k for one site); a config that cannot be read is left to the app."""
    from peer_outcomes.dashboard import auth
    from peer_outcomes.pipelines.errors import UserError

    everyone = ((), ())
    try:
        rules = auth.load_config(os.environ[auth.ENV]).rules if os.environ.get(auth.ENV) else ()
    except UserError:
        rules = ()
    return list(dict.fromkeys([everyone, *((r.sites, r.programs) for r in rules)]))


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
