"""How long `build_marts` takes at 100,000 participants and 5 M attendance rows (it runs in every ETL).

The data are random rows made in DuckDB (no export, no ETL), shaped like a large program: 20 sites,
two years of enrollment, sessions every ~4 days over a random engagement span, exits, relapses, matches and milestones,
and the mentoring-practice files (goals, ~11 check-ins a person, referrals, 24 mentor-months each, incidents,
graduates who mentor); the practice marts' time is printed beside the other marts'.
The baseline, measured in the same run, is copying the attendance table joined to sessions once into the
file (`create table as select`): the ratio says how many such passes the marts cost. The machine is shared:
rounds alternate baseline and build, and the best of each is reported, in wall and CPU seconds.

    .venv/bin/python benchmarks/bench_marts.py [--participants 100000] [--attendance 5000000] [--rounds 3]
    .venv/bin/python benchmarks/bench_marts.py --against main   # each model's SQL at a git revision vs now
    .venv/bin/python benchmarks/bench_marts.py --warehouse /tmp/po-100k/warehouse.duckdb --against main

With `--against REV` every round also builds the models as they are at git revision REV (before the current
ones, on the same rows), prints each model's seconds both ways, and checks that every mart has the same rows
both ways (EXCEPT ALL in both directions): a change meant only for speed must not change a row. With
`--warehouse FILE` a copy of a warehouse the ETL built is used instead of the random rows: a plan can depend on
the data's shape (the synthetic export has 1.3 M sessions for 4.1 M attendance rows, the random rows 58,400).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import duckdb

from peer_outcomes.pipelines.marts import aggregate_models, build_models, check_marts, models

WAREHOUSE_SQL = Path(__file__).resolve().parents[1] / "pipelines" / "sql" / "warehouse.sql"


def make_warehouse(con: duckdb.DuckDBPyConnection, participants: int, attendance: int) -> None:
    """Fill the core tables with random but plausible rows (seeded)."""
    con.execute(WAREHOUSE_SQL.read_text())
    # the rows below are inserted by position, without the `program` every fact table ends with: it is added
    # back afterwards with its default ('main', the one program)
    tagged = [t for (t,) in con.execute("select table_name from duckdb_columns() where column_name = 'program' "
                                        "and table_name <> 'programs'").fetchall()]  # fmt: skip
    for table in tagged:
        con.execute(f"alter table {table} drop column program")
    con.execute("select setseed(0.42)")
    per_person = max(attendance // participants, 1)
    n_mentors = max(participants // 50, 20)
    con.execute(
        f"""
        insert into settings values (date '2026-06-30', 30, [30, 60, 90, 180, 365, 730], 1.0, 'bench', '1.0', 'bench', now());
        insert into programs values ('main', null, date '2026-06-30', 30, [30, 60, 90, 180, 365, 730], 1.0, 'bench', now());
        insert into participants (participant_key, participant_pid, site, enrolled_on, program_track,
                                  age_at_enrollment, gender, primary_substance, recovery_start_on)
        select i, md5(i::varchar), 'S' || (i % 20), date '2024-07-01' + (random() * 720)::int,
               ['long', 'short'][1 + i % 2], 18 + (random() * 60)::int,
               ['female', 'male', 'unknown'][1 + floor(random() * 3)::int],
               ['alcohol', 'opioids', 'stimulants', 'unknown'][1 + floor(random() * 4)::int],
               case when random() < 0.5 then date '2024-01-01' + (random() * 900)::int end
        from range({participants}) t(i);
        insert into mentors (mentor_key, mentor_pid, site, started_on, recovery_start_on, certified_on, gender,
                             primary_substance)
        select i, md5('m' || i), 'S' || (i % 20), date '2020-01-01', date '2010-01-01' + (random() * 4000)::int,
               case when random() < 0.7 then date '2023-01-01' + (random() * 900)::int end,
               ['female', 'male'][1 + i % 2], ['alcohol', 'opioids', 'stimulants'][1 + i % 3]
        from range({n_mentors}) t(i);
        insert into sessions (session_key, session_id, site, session_date, format)
        select (s * 730 + d) * 4 + f, 's' || s || '-' || d || '-' || f, 'S' || s, date '2024-07-01' + d::int,
               ['one_on_one', 'group', 'online', 'workshop'][1 + f]
        from range(20) a(s), range(730) b(d), range(4) c(f);
        -- each person attends every ~4 days for an engagement span of 1 to {2 * per_person} visits
        create temp table span as
        select participant_key, participant_key % 20 as s, enrolled_on - date '2024-07-01' as d0,
               1 + floor(random() * {2 * per_person})::int as visits
        from participants;
        insert into attendance
        select ((s * 730 + least(d0 + j * 4 + floor(random() * 4)::int, 729)) * 4 + floor(random() * 4)::int)::int,
               participant_key,
               ['attended', 'attended', 'attended', 'attended', 'no_show', 'excused'][1 + floor(random() * 6)::int]
        from span, range({2 * per_person}) t(j)
        where j < visits;
        insert into exits
        select participant_key, enrolled_on + (random() * 400)::int,
               ['completed', 'dropped_out', 'moved', 'other'][1 + floor(random() * 4)::int]
        from participants where random() < 0.5;
        insert into substance_use
        select distinct on (participant_key, event_on, kind) participant_key,
               enrolled_on + (random() * 500)::int as event_on, ['lapse', 'relapse'][1 + floor(random() * 2)::int] as kind,
               null, null
        from participants, range(3) where random() < 0.3;
        insert into matches
        select distinct on (participant_key, mentor_key, matched_on) participant_key,
               (random() * ({n_mentors} - 1))::int as mentor_key, enrolled_on + (random() * 30)::int as matched_on,
               null, null
        from participants, range(2) where random() < 0.6;
        insert into milestones
        select participant_key, d, coalesce(recovery_start_on, enrolled_on) + d
        from participants, (select unnest([30, 60, 90, 180, 365, 730]) as d) where random() < 0.4;
        insert into goals
        select 'g' || participant_key || '-' || k, participant_key, null,
               ['recovery', 'housing', 'employment', 'family'][1 + floor(random() * 4)::int],
               enrolled_on + 3 * k::int, null, ['open', 'met', 'met', 'abandoned'][1 + floor(random() * 4)::int],
               enrolled_on + 3 * k::int + (random() * 200)::int
        from participants, range(2) t(k) where random() < 0.6;
        insert into check_ins
        select distinct on (participant_key, checked_in_on, mode) participant_key, participant_key % {n_mentors},
               enrolled_on + (random() * 300)::int as checked_in_on, ['phone', 'text'][1 + (j % 2)] as mode,
               random() < 0.75
        from participants, range(14) t(j) where random() < 0.8;
        insert into referrals
        select 'r' || participant_key || '-' || k, participant_key, null, enrolled_on + (random() * 200)::int,
               ['treatment', 'mat', 'detox', 'housing', 'mutual_aid'][1 + floor(random() * 5)::int] as resource_type,
               ['connected', 'connected', 'declined'][1 + k], case when k < 2 then enrolled_on + 200 + 20 * k::int end
        from participants, range(3) t(k) where random() < 0.2;
        insert into mentor_activity
        select i, (date '2024-07-01' + to_months(m::int))::date, round(random() * 3, 1), 0, random() < 0.9
        from range({n_mentors}) a(i), range(24) b(m);
        insert into incidents
        select 'i' || i || '-' || m, i, null, (date '2024-07-01' + to_months(m::int))::date + (random() * 27)::int,
               ['boundary', 'safety', 'conduct'][1 + floor(random() * 3)::int], 'low'
        from range({n_mentors}) a(i), range(24) b(m) where random() < 0.04;
        update mentors set former_participant_pid = md5((mentor_key * 37)::varchar) where mentor_key % 5 = 0;
        """
    )
    for table in tagged:
        con.execute(f"alter table {table} add column program varchar default 'main'")


# The mentoring-practice marts (issue 15), timed beside the others
PRACTICE = ("goals", "goal_setting", "check_in_weekly", "check_in_regularity", "referrals", "mentor_months", "pathway")


def cpu() -> float:
    """CPU seconds of this process, all threads: steadier than wall time on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def models_at(rev: str, layers: tuple[str, ...] = ("intermediate", "marts")) -> dict[str, str]:
    """Every model's SQL as it is at git revision `rev` (the layout of `marts.models()`; with
    `layers=("aggregates",)`, of `marts.aggregate_models()`)."""
    root = Path(__file__).resolve().parents[1]
    out: dict[str, str] = {}
    for layer in layers:
        folder = f"pipelines/sql/{layer}/"
        names = subprocess.run(
            ["git", "ls-tree", "--name-only", rev, folder], cwd=root, capture_output=True, text=True, check=True
        ).stdout.split()
        for path in (n for n in names if n.endswith(".sql")):
            sql = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=root, capture_output=True, text=True, check=True)
            out[f"{layer}.{Path(path).stem}"] = sql.stdout
    return out


def build_aggregates_timed(con: duckdb.DuckDBPyConnection, aggs: dict[str, str]) -> tuple[float, float]:
    """Build the aggregates `aggs` from the marts (as `marts.build_aggregates` does); return (wall, CPU) seconds."""
    w, c = time.perf_counter(), cpu()
    con.execute("create schema if not exists aggregates")
    for name, sql in aggs.items():
        con.execute(f"create or replace table {name} as\n{sql}")
    return time.perf_counter() - w, cpu() - c


def measure_floor(con: duckdb.DuckDBPyConnection, sqls: dict[str, str], rounds: int) -> tuple[float, float]:
    """What the models cost without the file: (CPU seconds building them all in memory, CPU seconds then writing the
    marts' rows into the file by `create table as`). The second is paid by any build that stores these rows."""
    file_db = con.execute("select current_database()").fetchone()[0]
    con.execute("attach ':memory:' as floor_mem")
    for (table,) in con.execute(
        "select table_name from duckdb_tables() where database_name = ? and schema_name = 'main'", [file_db]
    ).fetchall():
        con.execute(f'create table floor_mem.main."{table}" as from "{file_db}".main."{table}"')
    best_memory = best_writes = float("inf")
    try:
        for _ in range(rounds):
            con.execute("use floor_mem")
            try:
                c = cpu()
                build_models(con, sqls)
                best_memory = min(best_memory, cpu() - c)
            finally:
                con.execute(f'use "{file_db}"')
            c = cpu()
            for name in (n for n in sqls if n.startswith("marts.")):
                con.execute(f"create or replace table {name} as from floor_mem.{name}")
            best_writes = min(best_writes, cpu() - c)
    finally:
        con.execute("detach floor_mem")
    return best_memory, best_writes


def compare_marts(con: duckdb.DuckDBPyConnection, names: list[str]) -> list[str]:
    """The marts and aggregates whose rows differ between their schema and schema `against` (EXCEPT ALL both
    ways); an aggregate is kept there as `against.agg_<name>`."""
    differ = []
    for name in names:
        schema, table = name.split(".")
        theirs = f"against.{table}" if schema == "marts" else f"against.agg_{table}"
        (n,) = con.execute(
            f"select (select count(*) from (from {name} except all from {theirs}))"
            f" + (select count(*) from (from {theirs} except all from {name}))"
        ).fetchone()
        if n:
            differ.append(f"{name} ({n} rows differ)")
    return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--attendance", type=int, default=5_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of baseline + build, alternated")
    parser.add_argument("--against", metavar="REV", help="also build the models as at this git revision and compare")
    parser.add_argument("--warehouse", type=Path, help="use a copy of this warehouse's core tables instead of random rows")
    parser.add_argument(
        "--floor", action="store_true", help="also build the models in memory, and time writing their rows to the file"
    )
    args = parser.parse_args()
    old_sqls = models_at(args.against) if args.against else {}
    old_aggs = models_at(args.against, ("aggregates",)) if args.against else {}
    old_best: dict[str, float] = {}
    old_agg_rounds: list[tuple[float, float]] = []
    old_model_rounds: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.warehouse:  # a copy: the build replaces its marts
            shutil.copyfile(args.warehouse, Path(tmp) / "bench.duckdb")
        con = duckdb.connect(str(Path(tmp) / "bench.duckdb"))
        if not args.warehouse:
            make_warehouse(con, args.participants, args.attendance)
        con.execute("checkpoint")
        (n_attendance,) = con.execute("select count(*) from attendance").fetchone()
        sqls, aggs = models(), aggregate_models()
        rounds = []
        for _ in range(args.rounds):
            w, c = time.perf_counter(), cpu()
            con.execute(
                "create or replace table baseline as select * from attendance join sessions using (session_key)"
            )
            baseline = (time.perf_counter() - w, cpu() - c)
            con.execute("drop table baseline")
            if old_sqls:  # the same rows through the models as at REV; the last round's marts are kept
                build_models(con, old_sqls, old_cpu := {})
                old_model_rounds.append(sum(old_cpu.values()))
                for name, seconds in old_cpu.items():
                    old_best[name] = min(seconds, old_best.get(name, seconds))
                old_agg_rounds.append(build_aggregates_timed(con, old_aggs))
                con.execute("drop schema if exists against cascade; create schema against")
                for name in (n for n in old_sqls if n.startswith("marts.")):
                    con.execute(f"create table against.{name.removeprefix('marts.')} as from {name}")
                for name in old_aggs:
                    con.execute(f"create table against.agg_{name.removeprefix('aggregates.')} as from {name}")
            w, c = time.perf_counter(), cpu()
            per_model = build_models(con, sqls, model_cpu := {})  # exactly what build_marts does, per model
            t, tc = time.perf_counter(), cpu()
            failures = check_marts(con)
            assert not failures, failures
            per_model["(checks)"], model_cpu["(checks)"] = time.perf_counter() - t, cpu() - tc
            per_model["(aggregates)"], model_cpu["(aggregates)"] = build_aggregates_timed(con, aggs)
            rounds.append((baseline, (time.perf_counter() - w, cpu() - c), per_model, model_cpu))
        rows = {
            n: con.execute(f"select count(*) from {n}").fetchone()[0] for n in sqls if n.startswith("marts.")
        }
        floor = measure_floor(con, sqls, args.rounds) if args.floor else None
        differ = compare_marts(
            con, [n for n in sqls if n in old_sqls and n.startswith("marts.")] + [n for n in aggs if n in old_aggs]
        )
        con.close()

    base_s, base_cpu = min(r[0][0] for r in rounds), min(r[0][1] for r in rounds)
    build_s, build_cpu = min(r[1][0] for r in rounds), min(r[1][1] for r in rounds)
    best = min(rounds, key=lambda r: r[1][0])[2]
    print(
        f"{args.warehouse or f'participants {args.participants:,}'}  attendance rows {n_attendance:,}"
        f"  (best of {args.rounds} rounds)"
    )
    print(f"baseline (attendance join sessions, one copy): {base_s:.2f} s  (CPU {base_cpu:.2f} s)")
    print(
        f"build_marts incl. checks and aggregates: {build_s:.2f} s = {build_s / base_s:.2f}x baseline"
        f"  (CPU {build_cpu:.2f} s = {build_cpu / base_cpu:.2f}x)"
    )
    practice = sum(s for n, s in best.items() if n.removeprefix("marts.") in PRACTICE)
    others = sum(s for n, s in best.items() if not n.startswith("(")) - practice
    practice_rows = sum(n for name, n in rows.items() if name.removeprefix("marts.") in PRACTICE)
    print(
        f"practice marts ({len(PRACTICE)}, {practice_rows:,} rows): {practice:.2f} s = {practice / base_s:.2f}x baseline"
        f" = {practice / others:.2f}x the other models ({others:.2f} s, intermediate included)"
    )
    for name, seconds in best.items():
        print(
            f"  {name:32s} {seconds:6.2f} s  {rows[name]:>10,} rows"
            if name in rows
            else f"  {name:32s} {seconds:6.2f} s"
        )
    if floor:
        in_memory, writes = floor
        print(
            f"floor: the same models in memory (core tables copied there, nothing written) {in_memory:.2f} CPU s;"
            f" writing their rows, as built, into the file {writes:.2f} CPU s (best of {args.rounds})"
        )
    if old_sqls:
        mine = {n: min(r[3][n] for r in rounds) for n in sqls}
        print(f"each model's best CPU seconds (DuckDB's threads included), as at {args.against} and now (now / then):")
        for name in sorted(mine, key=lambda n: -old_best.get(n, 0)):
            if name in old_best:
                then = old_best[name]
                print(f"  {name:32s} {then:6.2f} s  {mine[name]:6.2f} s  {mine[name] / then:5.2f}x")
        # a model's own seconds can carry a checkpoint or allocation another one caused: the sums are what count
        then_models, now_models = min(old_model_rounds), min(sum(r[3][n] for n in sqls) for r in rounds)
        then_aggs, now_aggs = min(c for _, c in old_agg_rounds), min(r[3]["(aggregates)"] for r in rounds)
        print(f"  all models (best round)          {then_models:6.2f} s  {now_models:6.2f} s  {now_models / then_models:5.2f}x")
        print(f"  all aggregates (best round)      {then_aggs:6.2f} s  {now_aggs:6.2f} s  {now_aggs / then_aggs:5.2f}x")
        print(
            "marts and aggregates with other rows than at " + args.against + ": " + ("; ".join(differ) if differ else "none")
        )
        if differ:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
