"""A synthetic export written as Parquet block by block, so that memory stays bounded up to 10 million people.

`synth.generate` holds the whole program in memory (about 2 million participants at most). Here the
participants are split into blocks of `BLOCK` (100,000): each block is a program of its own drawn by
`synth.program_tables` from its own seeded stream (block 0 from the seed itself, block b from
`[seed, STREAM, b]`), and its tables are appended as one row group to each entity's single Parquet file
(`attendance.parquet`, …), so the ETL reads the export as it reads any Parquet export. Only one block is in
memory at a time: peak memory is that of a 100,000-person program, whatever the total.

What follows from blocks being programs of their own:

- Output depends on the seed, the number of participants and `block` only. With the default block size,
  the same seed and N give the same rows; a different `block` gives a different (equally valid) program.
  An export of at most one block has exactly the rows `synth.generate` writes as CSV for the same seed.
- Ids of block b >= 1 carry the prefix `B<b>-` (participants, mentors, sessions, goals, referrals,
  incidents), so they never collide; references stay within a block.
- Each block has its own mentors and its own shared (group, online, workshop) sessions at the six sites,
  and its own small site of 8 people: at N = 1,000,000, "harbor" has 80 people.
- truth.json sums the blocks' counts; the true effects are the same in every block.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from peer_outcomes.pipelines.synth import FILES, SynthError, prepare, program_tables

BLOCK = 100_000
MAX_PARTICIPANTS = 10_000_000
STREAM = 17  # the blocks' streams: [seed, STREAM, b], apart from the messy faults' [seed, 1]
SUMMED = ("sites", "tracks", "spell_ends", "rows")


def _prefixed(table: pa.Table, block: int) -> pa.Table:
    """Every `*_id` column with `B<block>-` in front (nulls stay null); block 0 is left as it is."""
    if block == 0:
        return table
    tag = pa.scalar(f"B{block}-")
    for i, name in enumerate(table.column_names):
        if name.endswith("_id"):
            column = pc.binary_join_element_wise(tag, table.column(i), "")
            table = table.set_column(i, name, column)
    return table


def _merge(total: dict | None, truth: dict) -> dict:
    """The running truth.json: counts summed over blocks, enrollment range widened."""
    if total is None:
        return truth
    for key in SUMMED:
        for name, count in truth[key].items():
            total[key][name] = total[key].get(name, 0) + count
    total["participants"] += truth["participants"]
    total["matched"] += truth["matched"]
    total["enrollment_from"] = min(total["enrollment_from"], truth["enrollment_from"])
    total["enrollment_to"] = max(total["enrollment_to"], truth["enrollment_to"])
    return total


def generate_parquet(out_dir: Path, participants: int, seed: int, block: int = BLOCK) -> dict:
    """Write a synthetic export as one Parquet file per entity (a row group per block) and truth.json.

    Each file is written under a temporary name and renamed when complete, so a killed run never leaves a
    file that looks whole."""
    if not 1 <= participants <= MAX_PARTICIPANTS:
        raise SynthError(f"--participants must be between 1 and {MAX_PARTICIPANTS:,} for Parquet.")
    out_dir = prepare(out_dir, seed)
    writers: dict[str, pq.ParquetWriter] = {}
    partial = {name: out_dir / f".{name}.parquet.partial" for name in FILES}
    total: dict | None = None
    done = False
    try:
        for b, lo in enumerate(range(0, participants, block)):
            rng = np.random.default_rng(seed if b == 0 else [seed, STREAM, b])
            tables, truth = program_tables(rng, seed, min(block, participants - lo))
            for name in FILES:
                table = _prefixed(tables[name], b)
                if name not in writers:
                    writers[name] = pq.ParquetWriter(partial[name], table.schema, compression="zstd")
                writers[name].write_table(table.cast(writers[name].schema), row_group_size=table.num_rows or 1)
            total = _merge(total, truth)
            del tables
        done = True
    finally:
        for writer in writers.values():
            writer.close()
        if not done:
            for path in partial.values():
                path.unlink(missing_ok=True)
    assert total is not None
    for name in FILES:
        os.replace(partial[name], out_dir / f"{name}.parquet")
        stale = out_dir / f"{name}.csv"  # an earlier CSV export in the same folder would be two files per entity
        stale.unlink(missing_ok=True)
    total["rows"] = {f"{name}.parquet": total["rows"][f"{name}.csv"] for name in FILES}
    total["format"] = "parquet"
    total["block_size"] = block
    total["blocks"] = -(-participants // block)
    (out_dir / "truth.json").write_text(json.dumps(total, indent=2) + "\n", encoding="utf-8")
    return total
