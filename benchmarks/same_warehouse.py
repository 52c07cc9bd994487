"""Whether two warehouses hold the same rows: every table, core and marts, equal both ways with EXCEPT ALL.

Used by hand to check that a change to the load (docs/scale.md: Parquet read in place, one entity staged at
a time) gives the warehouse the code before it gave, on the same export and key. Columns that say when or in
which batch a load ran (built_at, batch_id, started_at, finished_at) are left out. Exits 1 if any differ.

    .venv/bin/python benchmarks/same_warehouse.py A.duckdb B.duckdb [--memory-limit 4GB]
"""

from __future__ import annotations

import argparse
import sys

import duckdb

WHEN = {"built_at", "batch_id", "started_at", "finished_at"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--memory-limit", default="4GB")
    args = parser.parse_args()
    con = duckdb.connect()
    con.execute(f"set memory_limit = '{args.memory_limit}'")
    for alias, path in (("a", args.a), ("b", args.b)):
        con.execute(f"attach '{path.replace(chr(39), chr(39) * 2)}' as {alias} (read_only)")
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = 'a' order by all"
    ).fetchall()
    differ = 0
    for schema, table in tables:
        columns = [
            r[0]
            for r in con.execute(
                "select column_name from duckdb_columns() where database_name = 'a' and schema_name = ?"
                " and table_name = ? order by column_index",
                [schema, table],
            ).fetchall()
            if r[0] not in WHEN
        ]
        cols = ", ".join(f'"{c}"' for c in columns)
        a, b = f"a.{schema}.{table}", f"b.{schema}.{table}"
        rows = con.execute(f"select count(*) from {a}").fetchall()[0][0]
        n = con.execute(
            f"select (select count(*) from (select {cols} from {a} except all select {cols} from {b}))"
            f" + (select count(*) from (select {cols} from {b} except all select {cols} from {a}))"
        ).fetchall()[0][0]
        differ += n
        print(f"{schema}.{table}: {rows:,} rows, {n:,} differ", flush=True)
    print("every table equal both ways" if not differ else f"{differ:,} rows differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
