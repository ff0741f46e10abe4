"""The full catalog set (performance + economics), loaded and cross-checked together."""

from __future__ import annotations

from pathlib import Path

from perfmodel.catalog.economics_schemas import ECONOMICS_SCHEMAS, REFERENCES, SCHEMAS
from perfmodel.catalog.folder import Catalogs
from perfmodel.catalog.folder import load_catalogs as _load
from perfmodel.inputs import InvalidInput


class EconomicsCatalogs(Catalogs):
    """Catalogs with the economics tables (prices, systems, sites, rentals) besides the performance ones.

    Its own type, so that a performance-only set (:func:`perfmodel.load_catalogs`) handed to the
    economics is refused by name instead of failing on a missing table.
    """


def load_catalogs(
    directory: Path | str | None = None, overrides: dict[str, bytes] | None = None
) -> EconomicsCatalogs:
    """Every catalog the economics needs, from ``directory`` (else the packaged defaults).

    ``overrides``: catalog name -> CSV bytes replacing that file (uploads and edits in the app).
    """
    c = _load(directory, SCHEMAS, REFERENCES, overrides)
    return EconomicsCatalogs(c.tables, c.origins)


def require_economics(catalogs: Catalogs) -> EconomicsCatalogs:
    """``catalogs`` if it holds the economics tables, else :class:`InvalidInput` saying how to load them."""
    if isinstance(catalogs, EconomicsCatalogs):
        return catalogs
    missing = sorted(set(ECONOMICS_SCHEMAS) - set(catalogs.tables))
    raise InvalidInput(
        "the economics needs perfmodel.catalog.economics_set.load_catalogs() (performance and economics tables); this catalog set "
        f"lacks {', '.join(missing) or 'the economics type'}"
    )
