"""Why the ETL runs DuckDB with 3 threads on a 2-core machine: its duplicate count, at each thread count.

    .venv/bin/python benchmarks/bench_threads.py             # 4.1 M keys, as attendance at 100k participants

DuckDB partitions a hash aggregate by its thread count; with 2 threads the partitions of a 4 M-key
`count(distinct)` do not stay in cache. The baseline is the same query with DuckDB's default on this machine
(one thread per core), measured in the same run; best of 5 per setting. Run by hand, not a test.
"""

from __future__ import annotations

import argparse
import os
import time

import duckdb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4_100_000)
    args = parser.parse_args()
    con = duckdb.connect()
    default = con.execute("select current_setting('threads')").fetchall()[0][0]
    # attendance-like keys: sessions of 1 to ~900 people, every (session, participant) pair once
    con.execute(
        f"""create table keys as select (i // 3)::integer as session_key, (hash(i) % 100000)::integer as participant_key
            from range({args.rows}) t(i)"""
    )
    query = """select count(distinct (session_key::bigint << 32) | (participant_key::bigint & 4294967295))
               from keys"""
    seconds = {}
    for threads in sorted({default, 2, 3, 4, (os.cpu_count() or 2) + 1}):
        con.execute(f"set threads = {threads}")
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            con.execute(query).fetchall()
            best = min(best, time.perf_counter() - start)
        seconds[threads] = best
    print(f"{args.rows:,} keys on {os.cpu_count()} cores; baseline: DuckDB's default of {default} threads")
    for threads, s in seconds.items():
        print(f"threads {threads}: {s:.3f} s  ({s / seconds[default]:.2f}x the default)")


if __name__ == "__main__":
    main()
