"""Write tests/reference/data/competing_ties.csv: a small competing-risks data set with many tied days.

Drawn once (seed 20261124) and committed, so R (make_golden.R) and the tests read the same rows. Two
groups, three outcomes plus censoring, integer days 1–40: ties everywhere, which is what exposes
estimators that jitter or mishandle tied times. Re-run by hand only if the file must change.
"""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261124)
n = 400
group = rng.choice(["A", "B"], size=n)
time = rng.integers(1, 41, size=n)
p = np.where(group[:, None] == "A", [0.3, 0.25, 0.2, 0.25], [0.2, 0.3, 0.3, 0.2])
status = np.array([rng.choice(4, p=row) for row in p])
out = Path(__file__).parent / "data" / "competing_ties.csv"
pd.DataFrame({"time": time, "status": status, "group": group}).to_csv(out, index=False)
print(f"wrote {out}")
