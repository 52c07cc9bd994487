"""The outcome marts on Apache Spark: the same SQL files, transpiled, run over a Parquet copy of the warehouse.

Policy: an outcome is defined once, in DuckDB SQL (sql/intermediate/, sql/marts/). For Spark each model is
transpiled by SQLGlot (read="duckdb", write="spark") and built in the order `marts.build_order` derives,
so a new mart runs on Spark without a line here. What syntax alone cannot settle is settled with the
column types of the tables already built (Spark's catalog): SQLGlot qualifies the columns, expands stars
(`* exclude`) and annotates types, and then a difference of two dates becomes `datediff` (in Spark it is
an interval, which no number compares with), and a decimal literal in a division a double (DuckDB divides
in double precision; Spark would keep 6 decimal digits). A cast to a DuckDB enum is a cast to string.
docs/scale.md lists what to avoid.

Then the aggregates the models need (sql/aggregates/*.sql, also DuckDB SQL): risk tables per cell whose
rows, repeated `n_people` times (`expand_counts`), give the same Kaplan–Meier, log-rank, Aalen–Johansen
and Cox results as the marts' own rows. marts.dose_weekly is itself the counting-process rows.

The Parquet copy of the core tables (`export_core`) holds pseudonymized rows: it is warehouse tier, kept
and deleted like the warehouse file, never published.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from peer_outcomes.pipelines.errors import UserError
from peer_outcomes.pipelines.marts import aggregate_models as aggregates
from peer_outcomes.pipelines.marts import build_order, models
from peer_outcomes.pipelines.warehouse import connect_readonly

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MASTER_ENV = "PEER_OUTCOMES_SPARK_MASTER"  # e.g. spark://host:7077, or yarn; default local mode
LOCAL_MASTER = "local[2]"
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "4",
    "spark.driver.memory": "1g",
}
SHARED_CONF = {"spark.sql.session.timeZone": "UTC", "spark.sql.ansi.enabled": "true"}

_CORE = re.compile(r"\bmain\.([a-z_][a-z0-9_]*)", re.IGNORECASE)
_COMMENT = re.compile(r"--[^\n]*")


class SparkRunError(UserError):
    """A model failed on Spark; the message names it."""


def _double_literal_in_division(node: exp.Expression) -> exp.Expression:
    """`x / 7.0` divides in double precision in DuckDB; Spark would keep decimal(…, 6): make it a double."""
    if isinstance(node, exp.Div):
        for side in ("this", "expression"):
            arg = node.args.get(side)
            if isinstance(arg, exp.Literal) and arg.is_number and not arg.is_int:
                node.set(side, exp.cast(arg, exp.DataType.build("double")))
    return node


def _enum_as_string(node: exp.Expression) -> exp.Expression:
    """A cast to a DuckDB enum (one-byte codes for speed; same values) is a cast to string in Spark."""
    if isinstance(node, exp.Cast) and node.to.is_type("enum"):
        node.set("to", exp.DataType.build("string"))
    return node


def _is_date(node: exp.Expression) -> bool:
    return node.type is not None and node.type.is_type("date")


def _date_differences(tree: exp.Expression, schema: Schema) -> set[int]:
    """The ids (meta "sub") of the subtractions in `tree` whose both sides are dates, found on a typed copy.

    The copy is qualified (columns resolved, stars expanded) only to learn the types; Spark runs the
    original, whose shape it is known to plan (qualified aliases trip one of its optimizer rules).
    """
    typed = MappingSchema(schema, dialect="spark")
    copy = qualify(tree.copy(), dialect="duckdb", schema=typed, quote_identifiers=False, identify=False,
                   validate_qualify_columns=False)
    copy = annotate_types(copy, schema=typed, dialect="duckdb")
    return {s.meta["sub"] for s in copy.find_all(exp.Sub) if _is_date(s.this) and _is_date(s.expression)}


Schema = dict[str, dict[str, dict[str, str]]]  # {"marts": {"retention": {"retention_days": "int", ...}}}


def to_spark(sql: str, schema: Schema | None = None) -> str:
    """One DuckDB select statement in Spark SQL, typed with `schema` (Spark type names) when given."""
    tree = sqlglot.parse_one(_COMMENT.sub("", sql), read="duckdb")
    if schema is not None:
        for i, sub in enumerate(tree.find_all(exp.Sub)):
            sub.meta["sub"] = i
        dates = _date_differences(tree, schema)

        def datediff(node: exp.Expression) -> exp.Expression:
            # `a - b` of two dates is a number of days in DuckDB, an interval in Spark
            if isinstance(node, exp.Sub) and node.meta.get("sub") in dates:
                return exp.DateDiff(this=node.this.copy(), expression=node.expression.copy())
            return node

        tree = tree.transform(datediff)
    return tree.transform(_double_literal_in_division).transform(_enum_as_string).sql(dialect="spark")


def core_tables(sqls: Mapping[str, str]) -> list[str]:
    """The warehouse tables (`main.<name>`) the models read."""
    return sorted({t.lower() for sql in sqls.values() for t in _CORE.findall(_COMMENT.sub("", sql))})


def export_core(db: str | os.PathLike[str], out: str | os.PathLike[str]) -> dict[str, Path]:
    """Copy the warehouse tables the models read to `out/<table>.parquet` (read-only on the warehouse)."""
    folder = Path(out)
    paths = {t: folder / f"{t}.parquet" for t in core_tables({**models(), **aggregates()})}
    with connect_readonly(db) as con:  # a missing warehouse stops here, before any folder is made
        folder.mkdir(parents=True, exist_ok=True)
        for table, path in paths.items():
            con.execute(f"copy (select * from main.{table}) to '{path}' (format parquet)")
    return paths


def session(master: str | None = None, conf: Mapping[str, str] | None = None) -> SparkSession:
    """A Spark session: on `master`, else $PEER_OUTCOMES_SPARK_MASTER, else local mode on 127.0.0.1.

    Local mode keeps the UI off, the driver on the loopback address and few shuffle partitions; on a
    cluster the cluster's own configuration (spark-defaults.conf, spark-submit) applies. `conf` adds or
    overrides settings.
    """
    from pyspark.sql import SparkSession

    master = master or os.environ.get(MASTER_ENV) or LOCAL_MASTER
    builder = SparkSession.builder.master(master).appName("peer-outcomes")
    settings = {**(LOCAL_CONF if master.startswith("local") else {}), **SHARED_CONF, **(conf or {})}
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _register(spark: SparkSession, name: str, path: str, schema: Schema) -> None:
    """Make `path` the table `name` in Spark's catalog, and note its column types in `schema`."""
    layer, table = name.split(".")
    spark.sql(f"create database if not exists {layer}")
    spark.sql(f"drop table if exists {name}")
    spark.catalog.createTable(name, path=path, source="parquet")
    columns = spark.table(name).schema.fields
    schema.setdefault(layer, {})[table] = {f.name: f.dataType.simpleString() for f in columns}


def build(spark: SparkSession, core: str | os.PathLike[str], out: str | os.PathLike[str]) -> dict[str, str]:
    """Build every model, then every aggregate, on Spark from the Parquet core tables in `core`.

    Each is written to `out/<layer>/<name>` as Parquet (a folder of part files) and registered in Spark's
    catalog as `<layer>.<name>`, so the next model reads it by the name the SQL uses. `core` and `out` may
    be local folders or cluster URIs (hdfs://, s3a://). Returns the built names and their paths.
    """
    sqls, extra = models(), aggregates()
    schema: Schema = {}
    for table in core_tables({**sqls, **extra}):
        _register(spark, f"main.{table}", f"{core}/{table}.parquet", schema)
    built: dict[str, str] = {}
    for name in [*build_order(sqls), *sorted(extra)]:
        layer, table = name.split(".")
        path = f"{out}/{layer}/{table}"
        try:
            spark.sql(to_spark(sqls.get(name) or extra[name], schema)).write.mode("overwrite").parquet(path)
        except Exception as exc:  # SQLGlot's and Spark's errors (AnalysisException via Py4J): name the model
            java = getattr(exc, "java_exception", None)
            first = (str(java) if java is not None else str(exc)).strip().split("\n")[0] or type(exc).__name__
            raise SparkRunError(f"The model {name} did not run on Spark: {first}") from exc
        _register(spark, name, path, schema)
        built[name] = path
    return built


def check_runtime() -> None:
    """Stop with one sentence when PySpark or Java, which Spark needs where the driver runs, is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise UserError("The spark command needs PySpark: pip install 'peer-outcomes[spark]' (docs/scale.md).") from None
    home = os.environ.get("JAVA_HOME")
    if not (shutil.which("java") or (home and Path(home, "bin", "java").exists())):
        raise UserError(
            "The spark command needs Java 17 where it runs: install openjdk-17-jre-headless (make system) "
            "or set JAVA_HOME."
        )


def run(
    out: str,
    db: str | os.PathLike[str] | None = None,
    core: str | None = None,
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Build the marts and the aggregates on Spark into `out`, from the Parquet core tables in `core`, else
    from a copy of the warehouse `db` written to `out/core` (warehouse tier, like the file it came from).

    A Spark session already running in this process is used and left running; one started here is stopped.
    """
    check_runtime()
    from pyspark.sql import SparkSession

    if core is None:
        if db is None:
            raise UserError("Give the warehouse (--db) or a folder of the core tables as Parquet (--core).")
        core = str(Path(out) / "core")
        export_core(db, core)
    running = SparkSession.getActiveSession()
    spark = session(master, conf)
    try:
        return build(spark, core, out)
    finally:
        if running is None:
            spark.stop()


def expand_counts(counts: pd.DataFrame, n: str = "n_people") -> pd.DataFrame:
    """One row per person from a risk table of counts: each row repeated `n` times, without the count.

    The survival models take one row per person; the counts are their sufficient statistics, so the
    expanded rows give the same estimates as the mart rows they were counted from (in another order).
    """
    rows = counts.loc[counts.index.repeat(counts[n].astype("int64"))].drop(columns=n)
    return rows.reset_index(drop=True)
