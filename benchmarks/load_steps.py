"""`peer-outcomes etl EXPORT --db DB`, writing the time each load step starts to STEPS (by hand, at scale).

The load's steps (etl._steps: carrying over, each file read, checked and loaded, the marts, the swap) are
only shown as a progress bar on a terminal; a long load in the background needs them in a file to say how
far it got and how long each file took (docs/scale.md, the 10M run).

    .venv/bin/python benchmarks/load_steps.py EXPORT DB STEPS
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from peer_outcomes.dashboard.cli import main
from peer_outcomes.pipelines import etl


def run() -> None:
    export, db, steps_file = sys.argv[1:4]
    log = open(steps_file, "a", buffering=1)  # noqa: SIM115  # open for the whole load

    @contextmanager
    def steps(_progress: bool) -> Iterator:
        yield lambda msg: print(f"{datetime.datetime.now(datetime.UTC):%H:%M:%S} {msg}", file=log)

    etl._steps = steps
    sys.argv = ["peer-outcomes", "etl", export, "--db", db]
    main()


if __name__ == "__main__":
    run()
