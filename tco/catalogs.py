"""The full catalog set (performance + economics), loaded and cross-checked together."""

from __future__ import annotations

from pathlib import Path

from perfmodel.catalog_set import Catalogs
from perfmodel.catalog_set import load_catalogs as _load
from tco.schemas import REFERENCES, SCHEMAS


def load_catalogs(directory: Path | str | None = None, overrides: dict[str, bytes] | None = None) -> Catalogs:
    """Every catalog the economics needs, from ``directory`` (else the packaged defaults).

    ``overrides``: catalog name -> CSV bytes replacing that file (uploads and edits in the app).
    """
    return _load(directory, SCHEMAS, REFERENCES, overrides)
