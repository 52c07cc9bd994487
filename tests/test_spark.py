"""The outcome marts on Spark equal the DuckDB marts, and so do the survival models (issue 17.3).

One real PySpark run in local mode (Debian's OpenJDK), through the `peer-outcomes spark` command, over a
Parquet copy of the session's synthetic warehouse builds every model in pipelines/sql (whatever marts exist: a new mart is covered here without a
line) and the aggregates. Spark's Parquet output is read back into DuckDB, cast to the DuckDB marts' column
types, and compared both ways with EXCEPT ALL. The models are then fitted on the DuckDB mart rows, as the
dashboard does, and on rows expanded from Spark's risk tables, and must agree to 1e-9.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from peer_outcomes.analysis.competing import cumulative_incidence
from peer_outcomes.analysis.cox import fit_cox
from peer_outcomes.analysis.dose import fit_time_varying_cox
from peer_outcomes.analysis.km import fit_km
from peer_outcomes.analysis.logrank import logrank_test
from peer_outcomes.analysis.published import CAUSES, COX_COVARIATES
from peer_outcomes.dashboard.cli import app
from peer_outcomes.pipelines.marts import mart_names, models
from peer_outcomes.pipelines.spark import aggregates, core_tables, expand_counts, to_spark

TOL = 1e-9
# tiny data: compiling generated code for each stage would cost more than running it
TEST_CONF = {"spark.sql.codegen.wholeStage": "false", "spark.sql.shuffle.partitions": "1",
             "spark.ui.showConsoleProgress": "false"}


@pytest.fixture(scope="module")
def spark_out(synth_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every model and aggregate built by `peer-outcomes spark` (in this process, local mode) from the
    warehouse's Parquet copy; Spark stopped after."""
    out = tmp_path_factory.mktemp("spark") / "built"
    conf = [arg for key, value in TEST_CONF.items() for arg in ("--conf", f"{key}={value}")]
    result = CliRunner().invoke(app, ["spark", "--db", str(synth_warehouse), "--out", str(out), *conf])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(f"tables on Spark into {out}.")
    assert sorted(p.name for p in (out / "core").glob("*.parquet")) == sorted(
        f"{t}.parquet" for t in core_tables({**models(), **aggregates()})
    )
    return out


def test_spark_without_java_or_pyspark_ends_in_one_sentence(tmp_path: Path) -> None:
    def spark(prelude: str, env: dict[str, str]) -> tuple[int, str]:
        run = subprocess.run(
            [sys.executable, "-c", f"{prelude}from peer_outcomes.dashboard.cli import main; main()", "spark",
             "--out", str(tmp_path / "out"), "--db", str(tmp_path / "none.duckdb")],
            capture_output=True, text=True, check=False, env=env,
        )  # fmt: skip
        return run.returncode, run.stderr.strip()

    wide = {**os.environ, "COLUMNS": "200"}  # one line on stderr, whatever the terminal
    no_java = {k: v for k, v in wide.items() if k != "JAVA_HOME"} | {"PATH": str(tmp_path)}
    assert spark("", no_java) == (1, "Error: The spark command needs Java 17 where it runs: install "
                                  "openjdk-17-jre-headless (make system) or set JAVA_HOME.")  # fmt: skip
    assert spark("import sys; sys.modules['pyspark'] = None; ", wide) == (
        1, "Error: The spark command needs PySpark: pip install 'peer-outcomes[spark]' (docs/scale.md).")  # fmt: skip
    assert not (tmp_path / "out").exists()


def _differences(db: Path, duck: str, spark_dir: Path) -> tuple[int, int, int]:
    """(rows, rows only in DuckDB, rows only in Spark) of relation `duck` and Spark's Parquet folder."""
    with duckdb.connect(str(db), read_only=True) as con:
        types = con.execute(f"describe {duck}").fetchall()
        parquet = f"read_parquet('{spark_dir}/*.parquet')"
        spark_cols = [c for (c, *_) in con.execute(f"describe select * from {parquet}").fetchall()]
        assert sorted(spark_cols) == sorted(c for (c, *_) in types), "Spark built other columns"
        cols = ", ".join(f'"{c}"' for (c, *_) in types)
        cast = ", ".join(f'cast("{c}" as {t}) as "{c}"' for (c, t, *_) in types)
        spark = f"select {cast} from {parquet}"
        (n,) = con.execute(f"select count(*) from {duck}").fetchone()
        (only_duck,) = con.execute(f"select count(*) from (select {cols} from {duck} except all {spark})").fetchone()
        (only_spark,) = con.execute(f"select count(*) from ({spark} except all select {cols} from {duck})").fetchone()
    return n, only_duck, only_spark


@pytest.mark.parametrize("mart", mart_names())
def test_every_mart_on_spark_equals_duckdb_both_ways(synth_warehouse: Path, spark_out: Path, mart: str) -> None:
    n, only_duck, only_spark = _differences(synth_warehouse, f"marts.{mart}", spark_out / "marts" / mart)
    assert n > 0, f"marts.{mart} is empty in the test warehouse, so the comparison would prove nothing"
    assert (only_duck, only_spark) == (0, 0)


@pytest.mark.parametrize("name", sorted(aggregates()))
def test_every_aggregate_on_spark_equals_duckdb_both_ways(synth_warehouse: Path, spark_out: Path, name: str) -> None:
    layer, table = name.split(".")
    n, only_duck, only_spark = _differences(synth_warehouse, f"({aggregates()[name]})", spark_out / layer / table)
    assert n > 0
    assert (only_duck, only_spark) == (0, 0)


def _duck(db: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


def _spark(folder: Path) -> pd.DataFrame:
    return duckdb.sql(f"select * from read_parquet('{folder}/*.parquet')").df()


def _same(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> None:
    """Equal frames up to row order: keys exactly, every number to TOL (NaN where the other has NaN)."""
    a, b = a.sort_values(keys).reset_index(drop=True), b.sort_values(keys).reset_index(drop=True)
    assert len(a) == len(b) and len(a) > 0
    for col in a.columns:
        if col in keys or not pd.api.types.is_numeric_dtype(a[col]):
            assert a[col].astype(str).tolist() == b[col].astype(str).tolist(), col
        else:
            np.testing.assert_allclose(b[col].to_numpy(float), a[col].to_numpy(float), rtol=0, atol=TOL, err_msg=col)


@pytest.fixture(scope="module")
def people(synth_warehouse: Path) -> pd.DataFrame:
    return _duck(synth_warehouse, "select * from marts.participant_outcomes")


@pytest.fixture(scope="module")
def survival_counts(spark_out: Path) -> pd.DataFrame:
    return _spark(spark_out / "aggregates" / "survival_counts")


@pytest.mark.parametrize(("outcome", "time", "event"),
                         [("retention", "retention_days", "is_disengaged"), ("relapse", "relapse_days", "is_relapse")])
def test_km_and_logrank_from_spark_risk_tables_equal_duckdb(
    people: pd.DataFrame, survival_counts: pd.DataFrame, outcome: str, time: str, event: str
) -> None:
    rows = expand_counts(survival_counts[survival_counts["outcome"] == outcome])
    rows = rows.rename(columns={"time_days": time, "is_event": event})
    duck_km, spark_km = fit_km(people, time, event, group="site"), fit_km(rows, time, event, group="site")
    _same(duck_km.curve, spark_km.curve, ["group", "time"])
    _same(duck_km.summary, spark_km.summary, ["group"])
    for frame in (people, rows):
        frame["track"] = frame["program_track"].fillna("none")
    duck_lr = logrank_test(people, time, event, "site", strata="track").summary
    spark_lr = logrank_test(rows, time, event, "site", strata="track").summary
    _same(duck_lr, spark_lr, ["test"])
    assert duck_lr["statistic"].iloc[0] > 0


def test_aalen_johansen_from_spark_risk_table_equals_duckdb(synth_warehouse: Path, spark_out: Path) -> None:
    duck = _duck(synth_warehouse, "select * from marts.competing")
    rows = expand_counts(_spark(spark_out / "aggregates" / "competing_counts"))
    duck_cif = cumulative_incidence(duck, "time_days", "event_code", CAUSES, group="site").summary
    spark_cif = cumulative_incidence(rows, "time_days", "event_code", CAUSES, group="site").summary
    _same(duck_cif, spark_cif, ["group", "cause", "time"])
    assert duck_cif["cif"].max() > 0


def _cox(frame: pd.DataFrame):
    """The published relapse model: the Cox covariates, missing as 'unknown', commonest level as reference."""
    frame = frame.assign(**{c: frame[c].astype("string").fillna("unknown") for c in COX_COVARIATES})
    categorical = {c: frame[c].value_counts().sort_index().idxmax() for c in COX_COVARIATES}
    return fit_cox(frame, "relapse_days", "is_relapse", COX_COVARIATES, categorical)


def test_cox_from_spark_risk_table_equals_duckdb(people: pd.DataFrame, survival_counts: pd.DataFrame) -> None:
    rows = expand_counts(survival_counts[survival_counts["outcome"] == "relapse"])
    duck, spark = _cox(people), _cox(rows.rename(columns={"time_days": "relapse_days", "is_event": "is_relapse"}))
    _same(duck.summary, spark.summary, ["term"])
    _same(duck.ph_test, spark.ph_test, ["term"])
    assert abs(duck.log_likelihood - spark.log_likelihood) < TOL
    assert duck.summary["hr"].notna().sum() >= 3


def test_time_varying_cox_on_spark_counting_process_rows_equals_duckdb(synth_warehouse: Path, spark_out: Path) -> None:
    def fit(rows: pd.DataFrame) -> pd.DataFrame:
        rows = rows.sort_values(["participant_key", "week"])
        rows["prev_week_sessions"] = rows.groupby("participant_key")["n_attended"].shift(1).fillna(0)
        res = fit_time_varying_cox(rows, "participant_key", "start_days", "stop_days", "is_relapse", ["prev_week_sessions"])
        return res.summary

    duck = fit(_duck(synth_warehouse, "select * from marts.dose_weekly"))
    _same(duck, fit(_spark(spark_out / "marts" / "dose_weekly")), ["term"])


def test_a_decimal_divisor_is_a_double_and_an_enum_a_string_on_spark_as_in_duckdb() -> None:
    sql = to_spark("select n / 7.0 as a, n * 1.5 as b, f::enum('x', 'y') as c from t -- a comment")
    assert "CAST(7.0 AS DOUBLE)" in sql and "n * 1.5" in sql and "CAST(f AS STRING)" in sql and "comment" not in sql


def test_a_difference_of_dates_is_datediff_on_spark_and_of_numbers_stays_a_difference() -> None:
    schema = {"main": {"t": {"a": "date", "b": "date", "n": "int"}}}
    sql = to_spark("select (a - b) >= 30 as x, n - 1 as y, a - 1 as z from main.t", schema)
    assert "DATEDIFF(a, b)) >= 30" in sql and "n - 1 AS y" in sql and "a - 1 AS z" in sql
