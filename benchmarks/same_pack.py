"""Check that a speed change left the evidence pack as it was: the same files, every CSV byte-identical, every
PNG pixel-identical and the PDF's text identical (its "generated" time aside). Exit 1 on any difference.

    .venv/bin/python benchmarks/same_pack.py PACK_BEFORE PACK_AFTER

Build PACK_BEFORE with the older code on the same warehouse, e.g. from `git archive OLD | tar -x -C /tmp/old`
and a folder holding a `peer_outcomes` link to it on PYTHONPATH (as `bench_evidence.py --baseline-code` does).
"""

from __future__ import annotations

import difflib
import re
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageChops


def pdf_text(path: Path) -> str:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC", "generated <time>", text)


def differences(a: Path, b: Path) -> list[str]:
    files = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    other = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    out = [f"only in one pack: {name}" for name in sorted(set(files) ^ set(other))]
    for name in sorted(set(files) & set(other)):
        if name.endswith(".csv") and (a / name).read_bytes() != (b / name).read_bytes():
            out.append(f"CSV differs: {name}")
        if name.endswith(".png"):
            with Image.open(a / name) as x, Image.open(b / name) as y:
                if x.size != y.size or ImageChops.difference(x.convert("RGBA"), y.convert("RGBA")).getbbox():
                    out.append(f"PNG pixels differ: {name}")
    if not ((a / "report.pdf").is_file() and (b / "report.pdf").is_file()):
        return out or ["no report.pdf in either pack"]
    ta, tb = pdf_text(a / "report.pdf"), pdf_text(b / "report.pdf")
    if ta != tb:
        diff = difflib.unified_diff(ta.splitlines(), tb.splitlines(), lineterm="")
        out.append("PDF text differs:\n" + "\n".join(list(diff)[:40]))
    return out


def main() -> None:
    a, b = (Path(p) for p in sys.argv[1:3])
    found = differences(a, b)
    print("\n".join(found) or f"same pack: {sum(1 for p in a.rglob('*') if p.is_file())} files compared")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
