"""Where a benchmark leaves its figures for ``benchmarks/report.py``: ``var/bench/NAME.json``.

Each benchmark still prints its figures; :func:`save` also keeps the raw samples (detection
times, latencies, rates) so the report can plot distributions, not just the printed medians.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "var" / "bench"


def save(name: str, **figures: Any) -> Path:
    """Merge ``figures`` into ``var/bench/NAME.json`` (created when missing); returns its path."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    path = FOLDER / f"{name}.json"
    known: dict[str, Any] = {}
    if path.exists():
        try:
            known = json.loads(path.read_text())
        except ValueError:
            known = {}
    known.update(figures)
    path.write_text(json.dumps(known, indent=2))
    return path
