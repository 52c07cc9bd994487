"""Cached access to the published layer for the pages: one wrapper per published result.

Results are cached with `st.cache_data` across sessions, keyed by the warehouse's data version (so an ETL
run invalidates every entry), the threshold k (a raised `PEER_OUTCOMES_MIN_CELL` must never be served
results masked at a lower one) and the filters; `max_entries` bounds memory. The data version is read once
per load of the file (`queries.data_version`), not with a connection per call. No connection is ever
cached: a result computed on a cache miss reads through one read-only connection, opened for it and closed
after it (`warehouse.reading`: an open costs ~25 ms of CPU, and a result runs up to a dozen queries), and
sees one snapshot (docs/architecture.md). The warehouse path comes from `PEER_OUTCOMES_DB` (set by
`peer-outcomes dashboard --db`).
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from peer_outcomes.analysis import published, published_practice, queries
from peer_outcomes.analysis.published import Published
from peer_outcomes.analysis.queries import Filters
from peer_outcomes.dashboard import gate
from peer_outcomes.pipelines import config, warehouse

MAX_ENTRIES = 256


def db_path() -> Path:
    """The warehouse the dashboard reads: `PEER_OUTCOMES_DB`, else the configured default."""
    return Path(os.environ.get("PEER_OUTCOMES_DB", str(config.DEFAULT_DB)))


def version() -> str:
    """The data version of the warehouse now (changes with every load)."""
    return queries.data_version(db_path())


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner="Computing…")
def _published(name: str, db: str, data_version: str, k: int, filters: Filters | None, kwargs: tuple) -> Published:
    args = (db,) if filters is None else (db, filters)
    with warehouse.reading(db):
        return getattr(published, name)(*args, **dict(kwargs))


def _get(name: str, filters: Filters | None = None, **kwargs: object) -> Published:
    if filters is None:  # a result about the whole program, whatever the sidebar says
        gate.require_every_site()
    else:  # narrowed to the sites and programs the signed-in role may see, whatever the URL or widgets asked
        filters = gate.restrict(filters)
    return _published(name, str(db_path()), version(), config.min_cell(), filters, tuple(sorted(kwargs.items())))


@st.cache_data(max_entries=8, show_spinner=False)
def _options(db: str, data_version: str, k: int, allowed_sites: tuple[str, ...], allowed_programs: tuple[str, ...]) -> dict:
    return published.filter_options(db, allowed_sites, allowed_programs)


def options() -> dict:
    """Sites, tracks and enrollment months the sidebar offers (of the sites and programs the signed-in role may
    see)."""
    access = gate.current()
    return _options(str(db_path()), version(), config.min_cell(), access.sites, access.programs)


def gap_text() -> str:
    """The disengagement gap the programs the signed-in role may see were loaded with (`--gap-days`), in words
    ('30 days'; each program's own when they differ), for the pages' definitions."""
    access = gate.current()
    return _gap_text(str(db_path()), version(), access.sites, access.programs)


@st.cache_data(max_entries=8, show_spinner=False)
def _gap_text(db: str, data_version: str, sites: tuple[str, ...], programs: tuple[str, ...]) -> str:
    return published.gap_text(db, Filters(allowed_sites=sites, allowed_programs=programs))


def headline(f: Filters) -> Published:
    return _get("headline", f)


def retention(f: Filters, by: str | None = None) -> Published:
    return _get("retention", f, by=by)


def relapse_free(f: Filters, by: str | None = None) -> Published:
    return _get("relapse_free", f, by=by)


def cohort_retention(f: Filters) -> Published:
    return _get("cohort_retention", f)


def competing_risks(f: Filters, by: str | None = None) -> Published:
    return _get("competing_risks", f, by=by)


def relapse_cox(f: Filters) -> Published:
    return _get("relapse_cox", f)


def milestones(f: Filters) -> Published:
    return _get("milestones", f)


def engagement(f: Filters) -> Published:
    return _get("engagement", f)


def mentors(f: Filters) -> Published:
    return _get("mentors", f)


def data_quality() -> Published:
    return _get("data_quality")


@st.cache_data(max_entries=MAX_ENTRIES, show_spinner="Computing…")
def _practice(name: str, db: str, data_version: str, k: int, filters: Filters | None) -> Published:
    with warehouse.reading(db):
        return getattr(published_practice, name)(db, filters) if filters else getattr(published_practice, name)(db)


def practice(f: Filters) -> Published:
    """Goals, referrals, check-ins and the pathway for the filtered participants."""
    return _practice("practice", str(db_path()), version(), config.min_cell(), gate.restrict(f))


def mentor_practice() -> Published:
    """Supervision, incidents and graduate mentors, for all mentors."""
    gate.require_every_site()
    return _practice("mentor_practice", str(db_path()), version(), config.min_cell(), None)


@st.cache_data(max_entries=8, show_spinner=False)
def _missing(db: str, data_version: str) -> dict[str, str]:
    return published_practice.missing_files(db)


def practice_missing_files() -> dict[str, str]:
    """Per part of the practice page whose files hold no rows, the sentence saying which files would fill it."""
    return _missing(str(db_path()), version())
