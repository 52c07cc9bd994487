"""The base population of every published result, and enrollment periods that cannot be differenced.

Program x site x track combinations of fewer than k people are in no population (queries.SMALL_CELLS); `guard`
wraps every function of analysis.published so that whatever Filters a caller passes, the result
describes the base population over whole periods, with a note saying how many groups are left out.

Two periods differing by one month would give that month's enrollees away by difference (their number and,
roughly, their outcomes). So the period filter moves in runs of whole months, built from the first month on
and closed as soon as every program x site x track cell of the base population has either no one or at least k
people enrolled in the run; a short last run is merged into the one before. Every choice of programs, sites, tracks
and periods is then a union of disjoint (program, site, track, period) cells of 0 or at least k people, and the
difference between any two choices is such a union too. Any date given (URL, evidence-pack flags) is
widened to the periods it falls in (`snap`). Busy programs get single months; small ones get longer runs.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, TypeVar

import pandas as pd

from peer_outcomes.analysis import disclosure, queries
from peer_outcomes.analysis.queries import Filters

Db = str | os.PathLike[str]
P = TypeVar("P", bound=Any)  # analysis.published.Published (not imported: it imports this module)


@dataclass(frozen=True)
class Period:
    """A run of whole enrollment months, first day to last day inclusive."""

    start: date
    end: date

    @property
    def label(self) -> str:
        """'2024-01' for one month, '2024-01 to 2024-05' for a run."""
        lo, hi = f"{self.start:%Y-%m}", f"{self.end:%Y-%m}"
        return lo if lo == hi else f"{lo} to {hi}"


SELECTABLE = ("site", "program_track", "program")  # compare-by groupings whose every group is a population of its own


def is_selection(group: str | None) -> bool:
    """True when each group of a compare-by grouping is itself a population the filters can choose (everyone,
    a site, a track, a program): its size is published exactly anyway, as that selection's N, so a curve may keep it."""
    return group is None or group in SELECTABLE


def _valid(cells: pd.Series) -> bool:
    return bool(((cells == 0) | disclosure.enough(cells)).all())


@queries.per_load
def enrollment_periods(db: Db, allowed_sites: tuple[str, ...] = (), allowed_programs: tuple[str, ...] = ()) -> list[Period]:
    """The periods the filter may use, oldest first (see the module docstring for the rule), built from the
    `allowed_sites` within the `allowed_programs` a role may see (all when empty), so another site's or program's enrollments never shape them.

    Once per load (`queries.per_load`): every published result asks for them, and the month-by-month walk
    costs about 0.1 s at 100,000 participants."""
    counts = queries.cell_months(db, allowed_sites, allowed_programs)
    if counts.empty:
        return []
    table = counts.pivot_table(index="month", columns=["program", "site", "track"], values="n", aggfunc="sum", fill_value=0)
    months = pd.period_range(pd.Timestamp(table.index.min()), pd.Timestamp(table.index.max()), freq="M")
    table = table.reindex([m.start_time for m in months], fill_value=0)
    runs: list[list[pd.Timestamp]] = []
    current, total = [], pd.Series(0, index=table.columns)
    for month, row in table.iterrows():
        current.append(month)
        total = total + row
        if _valid(total):
            runs.append(current)
            current, total = [], pd.Series(0, index=table.columns)
    if current:  # a short last run: merge backwards until its cells are 0 or >= k
        runs.append(current)
    while len(runs) > 1 and not _valid(table.loc[runs[-1]].sum()):
        runs[-2:] = [runs[-2] + runs[-1]]
    return [Period(r[0].date(), (r[-1] + pd.offsets.MonthEnd(0)).date()) for r in runs]


def snap(f: Filters, periods: list[Period]) -> Filters:
    """`f` with its dates widened to whole periods (a date before the first or after the last is open)."""
    if not periods:
        return f
    lo = next((p.start for p in reversed(periods) if f.enrolled_from and p.start <= f.enrolled_from), None)
    hi = next((p.end for p in periods if f.enrolled_to and p.end >= f.enrolled_to), None)
    if f.enrolled_to and f.enrolled_to < periods[0].start:
        hi = f.enrolled_to  # before any enrollment: an empty selection stays empty
    if f.enrolled_from and f.enrolled_from > periods[-1].end:
        lo = f.enrolled_from
    lo = None if lo == periods[0].start else lo
    hi = None if hi == periods[-1].end else hi
    return replace(f, enrolled_from=lo, enrolled_to=hi)


def all_small(db: Db, allowed_sites: tuple[str, ...] = (), allowed_programs: tuple[str, ...] = ()) -> bool:
    """Whether every program within reach has fewer than k participants, so that no figure can be shown."""
    small = queries.small_cells(db, allowed_sites, allowed_programs)
    reached = queries.group_sizes(db, allowed_sites, allowed_programs)["program"].nunique()
    return reached > 0 and small.loc[small["program_small"], "program"].nunique() == reached


def left_out_notes(db: Db, allowed_sites: tuple[str, ...] = (), allowed_programs: tuple[str, ...] = ()) -> list[str]:
    """Notes naming how many sites, tracks and site x track combinations are left out of every figure, among
    the `allowed_sites` within the `allowed_programs` a role may see (all when empty); when all are small,
    one sentence saying so, without counting programs (a one-program user knows of no others).

    Never their number of people: that is under k by definition (queries.SMALL_CELLS).
    """
    k = disclosure.threshold()
    if all_small(db, allowed_sites, allowed_programs):
        many = queries.group_sizes(db, allowed_sites, allowed_programs)["program"].nunique() > 1
        whom = "Every program you can see has" if many else "The program has"
        return [f"{whom} fewer than {k} participants so far, so no figure is shown until {k} or more have enrolled."]
    small = queries.small_cells(db, allowed_sites, allowed_programs)
    programs = small.loc[small["program_small"], "program"].nunique()
    in_big = ~small["program_small"]
    sites = len(small.loc[small["site_small"] & in_big, ["program", "site"]].drop_duplicates())
    tracks = small.loc[small["track_small"] & ~small["site_small"] & in_big, "track"].nunique()
    cells = int((~small["site_small"] & ~small["track_small"] & in_big).sum())
    notes = []
    for count, one, many in ((programs, "program", "programs"), (sites, "site", "sites"), (tracks, "track", "tracks"),
                             (cells, "site-and-track combination", "site-and-track combinations")):  # fmt: skip
        if count:
            verb = "is" if count == 1 else "are"
            notes.append(
                f"{count} {one if count == 1 else many} with fewer than {k} participants {verb} left out of "
                "every figure, so that no choice of filters can single them out."
            )
    return notes


def guard(func: Callable[..., P]) -> Callable[..., P]:
    """Every published result describes the base population (small site x track cells left out, whatever
    the caller's Filters say) over whole enrollment periods (`snap`), and carries a note saying
    how many groups that leaves out. Periods and notes are those of the sites and programs the Filters allow."""

    @functools.wraps(func)
    def wrapper(db: Db, *args: object, **kwargs: object) -> P:
        reach = next(((a.allowed_sites, a.allowed_programs) for a in (*args, *kwargs.values()) if isinstance(a, Filters)), ((), ()))
        steps: list[Period] = []

        def base(a: object) -> object:
            if not isinstance(a, Filters):
                return a
            steps[:] = steps or enrollment_periods(db, *reach)
            return snap(replace(a, all_groups=False), steps)

        args = tuple(base(a) for a in args)
        kwargs = {k: base(v) for k, v in kwargs.items()}
        pub = func(db, *args, **kwargs)
        if pub.empty and all_small(db, *reach):  # its note says why; "fewer than k match these filters" would repeat it
            pub.notes[:] = left_out_notes(db, *reach)
        else:
            pub.notes[:0] = left_out_notes(db, *reach)
        return pub

    return wrapper
