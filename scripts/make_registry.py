#!/usr/bin/env python
"""Regenerate ``data/registry.tsv.gz`` from the mirror's ``MANIFEST.tsv`` and ``data/sources.yaml``.

Every manifest row whose path lies under a source's ``prefix`` is registered with its size,
sha256, public URL, licence and source key (the citation lives in ``sources.yaml``).  The output
is deterministic (sorted rows, fixed gzip mtime), so a regeneration with an unchanged manifest
gives a byte-identical file.

    python scripts/make_registry.py [--manifest ../shared/data/MANIFEST.tsv]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def build(manifest: Path, sources: Path) -> list[dict]:
    src = yaml.safe_load(sources.read_text())
    rows = []
    with open(manifest, newline="") as fh:
        for rec in csv.DictReader(fh, delimiter="\t"):
            key = next((k for k, v in src.items() if rec["path"].startswith(v["prefix"])), None)
            if key is None:
                continue
            rows.append(
                {
                    "path": rec["path"],
                    "bytes": rec["bytes"],
                    "sha256": rec["sha256"],
                    "url": rec["url"],
                    "license": rec["license"],
                    "source": key,
                }
            )
    rows.sort(key=lambda r: r["path"])
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", default=str(ROOT.parent / "shared" / "data" / "MANIFEST.tsv"))
    ap.add_argument("--sources", default=str(ROOT / "data" / "sources.yaml"))
    ap.add_argument("--out", default=str(ROOT / "data" / "registry.tsv.gz"))
    args = ap.parse_args(argv)
    rows = build(Path(args.manifest), Path(args.sources))
    buf = io.StringIO()
    w = csv.DictWriter(
        buf, fieldnames=["path", "bytes", "sha256", "url", "license", "source"], delimiter="\t", lineterminator="\n"
    )
    w.writeheader()
    w.writerows(rows)
    out = Path(args.out)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(buf.getvalue().encode())
    tmp.replace(out)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["source"]] = counts.get(r["source"], 0) + 1
    print(f"wrote {len(rows)} files to {out}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
