"""The package's one pint ``UnitRegistry``.

pint's default registry treats ``bit``/``byte`` as dimensionless, so ``GB/s`` would silently
convert to ``Hz``. Here information is its own dimension (``bit = [information]``) and FLOPs,
tokens, currency and CO2-equivalent emissions get theirs, so a wrong unit raises
``pint.DimensionalityError`` instead of producing a wrong number.

Amortization uses pint's ``year`` (365.25 days = 8766 h).
"""

from __future__ import annotations

from pathlib import Path

import pint

_EXTRA = """
FLOP = [compute] = flop
token = [token] = tok = tokens
USD = [currency] = usd = dollar
gCO2e = [emissions]
"""


def _build_registry() -> pint.UnitRegistry:
    base = Path(pint.__file__).parent
    text = (base / "default_en.txt").read_text(encoding="utf-8")
    constants = (base / "constants_en.txt").read_text(encoding="utf-8")
    text = text.replace("@import constants_en.txt", constants)
    if "\nbit = []\n" not in text:  # pragma: no cover - depends on pint's bundled file
        raise RuntimeError("pint's default definitions changed: cannot give 'bit' its own dimension")
    text = text.replace("\nbit = []\n", "\nbit = [information]\n")
    registry = pint.UnitRegistry(None, autoconvert_offset_to_baseunit=True)
    registry.load_definitions(text.splitlines() + _EXTRA.strip().splitlines())
    registry.formatter.default_format = "~P"
    return registry


ureg = _build_registry()
Q_ = ureg.Quantity
pint.set_application_registry(ureg)

__all__ = ["ureg", "Q_"]
