"""build_marts / check_marts: models are built in the order their references demand, and a failed marts.yml
test stops the load."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
from marts_world import World

from peer_outcomes.pipelines.config import MILESTONE_DAYS
from peer_outcomes.pipelines.marts import (
    SQL_DIR,
    MartCheckError,
    ModelGraphError,
    build_marts,
    build_order,
    check_marts,
    load_spec,
    mart_names,
    models,
    references,
)


def test_every_mart_in_the_spec_has_one_sql_file_stating_its_definition() -> None:
    spec_names = [m["name"].removeprefix("marts.") for m in load_spec()["marts"]]
    assert sorted(spec_names) == sorted(mart_names())
    assert sorted(p.stem for p in SQL_DIR.glob("*.sql")) == sorted(mart_names())
    for name, text in models().items():
        assert re.match(r"-- (one row per|counting-process rows)", text), name
        assert text.rstrip().endswith("select * from final"), name


def test_the_derived_order_builds_every_model_after_the_models_it_reads() -> None:
    sqls = models()
    order = build_order(sqls)
    assert sorted(order) == sorted(sqls)
    for name, sql in sqls.items():
        for ref in references(sql):
            assert order.index(ref) < order.index(name), (ref, name)
    # the shared building blocks come first: the follow-up window, then the sessions inside it
    assert (
        order.index("intermediate.follow_up")
        < order.index("intermediate.visits")
        < order.index("marts.retention")
    )


def test_references_in_comments_and_to_core_tables_are_not_dependencies() -> None:
    sql = "-- reads marts.retention end_on\nselect * from intermediate.visits join main.settings on true -- marts.relapse"
    assert references(sql) == {"intermediate.visits"}


def test_a_reference_to_a_missing_model_fails_in_one_sentence() -> None:
    sqls = {
        "intermediate.follow_up": "select 1 as x",
        "marts.retention": "select * from intermediate.follow_upp",
    }
    with pytest.raises(ModelGraphError) as err:
        build_order(sqls)
    assert str(err.value) == (
        "The model marts.retention reads intermediate.follow_upp, which is not a model in pipelines/sql."
    )


def test_a_cycle_fails_in_one_sentence_naming_its_models() -> None:
    sqls = {
        "marts.a": "select * from marts.c",
        "marts.b": "select * from marts.a",
        "marts.c": "select * from marts.b",
        "marts.d": "select 1 as x",
    }
    with pytest.raises(ModelGraphError) as err:
        build_order(sqls)
    assert (
        str(err.value)
        == "The models marts.a, marts.b, marts.c read each other in a cycle, so none of them can be built."
    )
    with pytest.raises(
        ModelGraphError, match=r"^The model marts\.d reads itself, so it can never be built\.$"
    ):
        build_order({"marts.d": "select * from marts.d"})


def test_intermediate_models_never_reach_the_warehouse_file(world: World) -> None:
    con = world.person(1).attend(1, 3).build(as_of=10)
    schemas = con.execute(
        "select distinct database_name, schema_name from duckdb_tables() where not internal"
    ).fetchall()
    assert sorted(schemas) == [("warehouse", "aggregates"), ("warehouse", "main"), ("warehouse", "marts")]
    assert "intermediate" not in [
        r[0] for r in con.execute("select database_name from duckdb_databases()").fetchall()
    ]


def test_a_clean_build_passes_every_check(world: World) -> None:
    con = world.person(1).attend(1, 3).person(2).build(as_of=10)
    assert check_marts(con) == []


def test_check_marts_reports_duplicates_nulls_and_bad_values(world: World) -> None:
    con = world.person(1).attend(1, 3).build(as_of=10)
    con.execute("insert into marts.retention select * from marts.retention")
    con.execute("update marts.competing set event_name = 'relapsed'")
    con.execute("update marts.relapse set relapse_days = null")
    assert check_marts(con) == [
        "marts.retention.participant_key is not unique (1 row(s))",
        "marts.relapse breaks `relapse_days >= 0 and end_on <= last_contact_on` (1 row(s))",
        "marts.relapse.relapse_days has nulls (1 row(s))",
        "marts.competing.event_name has values outside its accepted values (1 row(s))",
    ]


def test_check_marts_reports_undocumented_and_missing_columns(world: World) -> None:
    con = world.person(1).build(as_of=10)
    con.execute("alter table marts.competing add column secret varchar")
    con.execute("alter table marts.match_features drop column n_rematches")
    assert check_marts(con) == [
        "marts.competing has undocumented column(s) secret",
        "marts.match_features lacks documented column(s) n_rematches",
    ]


def test_a_failed_check_fails_the_build(world: World) -> None:
    # an exit reason outside the contract (the ETL should have quarantined it) must not reach the marts
    world.person(1).attend(1, 3).exit(1, 5, "paroled")
    with pytest.raises(MartCheckError) as err:
        world.build(as_of=10)
    assert str(err.value) == (
        "The outcome marts failed 2 check(s), so the load was stopped: "
        "marts.retention.censor_reason has values outside its accepted values (1 row(s)); "
        "marts.relapse.censor_reason has values outside its accepted values (1 row(s))."
    )


def test_build_needs_exactly_one_settings_row(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute((Path(__file__).resolve().parents[2] / "pipelines/sql/warehouse.sql").read_text())
    with pytest.raises(
        MartCheckError, match=r"^The settings table must hold exactly one row .*; it holds 0\.$"
    ):
        build_marts(con)


def test_marts_build_and_pass_their_checks_on_the_synthetic_warehouse(
    synth_warehouse: Path, synth_export: Path
) -> None:
    truth = json.loads((synth_export / "truth.json").read_text())
    con = duckdb.connect(str(synth_warehouse), read_only=True)
    try:
        assert check_marts(con) == []
        # the generator's own count of how each engagement spell ended: exits match exactly; a true
        # disengagement less than gap_days before as_of is not observable yet, so it shows as censored at as_of
        got = dict(
            con.execute(
                """select case when retention_outcome <> 'censored' then retention_outcome
                               when censor_reason = 'as_of' then 'as_of' else 'other_exit' end, count(*)
                   from marts.retention group by 1"""
            ).fetchall()
        )
        true = truth["spell_ends"]
        assert (got["completed"], got["other_exit"]) == (true["completed"], true["other_exit"])
        assert got["disengaged"] + got["as_of"] == true["disengaged"] + true["as_of"]
        assert 0 <= true["disengaged"] - got["disengaged"] <= 0.05 * true["disengaged"]
        assert con.execute("select sum(is_matched) from marts.match_features").fetchone() == (
            truth["matched"],
        )
        (n_people,) = con.execute(
            "select count(*) from participants where enrolled_on <= (select as_of from settings)"
        ).fetchone()
        for name in ("participant_outcomes", "retention", "relapse", "competing", "match_features"):
            assert con.execute(f"select count(*) from marts.{name}").fetchone() == (n_people,), name
        # the load wrote the settings the marts used: config's milestones, one row each per person
        (milestone_days,) = con.execute("select milestone_days from settings").fetchone()
        assert milestone_days == list(MILESTONE_DAYS)
        assert con.execute("select count(*) from marts.milestones").fetchone() == (
            len(MILESTONE_DAYS) * n_people,
        )
        # every outcome occurs in realistic data, and the dose rows partition the relapse spells
        assert con.execute("select count(distinct event_code) from marts.competing").fetchone() == (4,)
        assert con.execute(
            """select count(*) from marts.relapse r left join (select participant_key,
               sum(stop_days - start_days) as total from marts.dose_weekly group by 1) w using (participant_key)
               where coalesce(w.total, 0) <> r.relapse_days"""
        ).fetchone() == (0,)
    finally:
        con.close()


def test_checks_look_only_at_the_database_being_built(world: World, tmp_path: Path) -> None:
    # the ETL attaches the live warehouse to carry its rows over; its (older) marts must not confuse the checks
    old = duckdb.connect(str(tmp_path / "old.duckdb"))
    old.execute("create schema marts; create table marts.competing (participant_key integer, legacy varchar)")
    old.close()
    con = world.person(1).attend(1, 3).build(as_of=10)
    con.execute(f"attach '{tmp_path / 'old.duckdb'}' as live (read_only)")
    assert check_marts(con) == []


def test_the_format_enum_of_intermediate_visits_lists_the_contract_formats() -> None:
    from peer_outcomes.pipelines.contract import FORMATS

    (values,) = re.findall(r"format::enum\(([^)]*)\)", models()["intermediate.visits"])
    assert tuple(v.strip().strip("'") for v in values.split(",")) == FORMATS
