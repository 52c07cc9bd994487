"""Golden values from R (tests/reference/golden.json, written by make_golden.R) and a comparison printer.

`compare(title, names, ours, theirs, tol)` prints a side-by-side table (visible with `pytest -s`) and
asserts every pair agrees to `tol` (absolute), with NaN matching NaN (R's NA).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_lung

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def golden() -> dict:
    return json.loads((HERE / "golden.json").read_text())


def _as_float(values: Sequence) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def compare_values(title: str, names: Sequence, ours: Sequence, theirs: Sequence, tol: float) -> None:
    a, b = _as_float(list(ours)), _as_float(list(theirs))
    assert a.shape == b.shape, f"{title}: {a.shape} values here, {b.shape} in the reference"
    names = list(names)
    shown = range(len(a)) if len(a) <= 12 else [*range(6), *range(len(a) - 6, len(a))]
    print(f"\n{title}  (tolerance {tol:g})")
    print(f"  {'':<24}{'ours':>22}{'reference':>22}{'|diff|':>12}")
    for i in shown:
        print(f"  {str(names[i])[:24]:<24}{a[i]:>22.12g}{b[i]:>22.12g}{abs(a[i] - b[i]):>12.2e}")
    if len(a) > 12:
        print(f"  ... {len(a)} values in all")
    both_nan = np.isnan(a) & np.isnan(b)
    diff = np.where(both_nan, 0.0, np.abs(a - b))
    bad = ~(diff <= tol)
    assert not bad.any(), f"{title}: {int(bad.sum())} of {len(a)} values differ by more than {tol:g}, max {np.nanmax(diff):.3g}"
    print(f"  max |diff| over {len(a)} values: {np.nanmax(diff) if len(diff) else 0:.2e}")


@pytest.fixture(scope="session")
def compare() -> Callable[..., None]:
    return compare_values


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    """lifelines' copy of R's lung, with ph.ecog as a text factor named `ecog` (missing kept missing)."""
    df = load_lung()
    df["ecog"] = df["ph.ecog"].map(lambda v: None if pd.isna(v) else str(int(v)))
    return df
