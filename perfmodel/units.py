"""The package's one pint ``UnitRegistry``, and strict parsing of the units and quantities users type.

pint's default registry treats ``bit``/``byte`` as dimensionless, so ``GB/s`` would silently
convert to ``Hz``. Here information is its own dimension (``bit = [information]``) and FLOPs,
tokens, currency and CO2-equivalent emissions get theirs, so a wrong unit raises
``pint.DimensionalityError`` instead of producing a wrong number.

Amortization uses pint's ``year`` (365.25 days = 8766 h).

Building the registry parses about 1,000 definitions (0.3-0.7 s). The combined definitions are
written once to a file in the user's cache folder and loaded with pint's own definition cache
(``cache_folder``, pint >= 0.18), which brings a build down to about 0.07 s; without a writable
cache folder the registry is built from the text as before.

User text is parsed by :func:`parse_unit` and :func:`parse_quantity`, never by pint's
``parse_expression``: that evaluates arithmetic (``10**10**10`` takes minutes and gigabytes).
A unit here is unit names with SI or binary prefixes, ``*``, ``/``, parentheses and integer
powers up to :data:`MAX_POWER`; a number is plain decimal or scientific notation.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pint

from perfmodel.inputs import MAX_TEXT, NUMBER, character, digits_hint, parse_number

_EXTRA = """
FLOP = [compute] = flop
token = [token] = tok = tokens
USD = [currency] = usd = dollar
gCO2e = [emissions]
"""

#: Largest power a unit may carry (``m^3``, ``s^-2``); anything larger is a typing mistake.
MAX_POWER = 4
#: ASCII letters and digits only (``re.ASCII``): ``s^-１`` is not ``1/s`` and a Cyrillic ``Т`` is
#: not ``T``; the micro sign may be written ``µ`` (U+00B5) or ``μ`` (U+03BC), as pint defines both.
_UNIT_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_µμ][A-Za-z0-9_µμ]*)|(?P<pow>(?:\^|\*\*)\s*\(?\s*(?P<exp>[+-]?\d+)\s*\)?)"
    r"|(?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d{1,2})?)|(?P<op>[*/·])|(?P<paren>[()]))",
    re.ASCII,
)


def _definitions() -> str:
    base = Path(pint.__file__).parent
    text = (base / "default_en.txt").read_text(encoding="utf-8")
    constants = (base / "constants_en.txt").read_text(encoding="utf-8")
    text = text.replace("@import constants_en.txt", constants)
    if "\nbit = []\n" not in text:  # pragma: no cover - depends on pint's bundled file
        raise RuntimeError("pint's default definitions changed: cannot give 'bit' its own dimension")
    return text.replace("\nbit = []\n", "\nbit = [information]\n") + _EXTRA


def _cache_dir() -> Path:
    env = os.environ.get("LIMINAL_TCO_CACHE")
    if env:
        return Path(env)
    import platformdirs  # a dependency of pint

    return Path(platformdirs.user_cache_dir("liminal-tco"))


def _build_registry() -> pint.UnitRegistry:
    text = _definitions()
    options = dict(autoconvert_offset_to_baseunit=True)
    key = hashlib.sha256((pint.__version__ + text).encode()).hexdigest()[:16]
    try:
        folder = _cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        defs = folder / f"units-{key}.txt"
        if not defs.exists():
            tmp = defs.with_name(f".{defs.name}.{os.getpid()}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, defs)
        registry = pint.UnitRegistry(str(defs), cache_folder=folder / "pint", **options)
    except OSError:  # no writable cache folder: build from the text (slower, same registry)
        registry = pint.UnitRegistry(None, **options)
        registry.load_definitions(text.splitlines())
    registry.formatter.default_format = "~P"
    return registry


ureg = _build_registry()
Q_ = ureg.Quantity
pint.set_application_registry(ureg)


def _known(name: str) -> bool:
    """Whether ``name`` is a unit of the registry (``in ureg`` raises for names like ``_``)."""
    if name.startswith("_"):
        return False
    try:
        return name in ureg
    except Exception:  # pint raises AttributeError and others for names it cannot look up
        return False


def not_ascii(text: str) -> str:
    """`` (U+0422 CYRILLIC CAPITAL LETTER TE is not ASCII)`` for the first character a unit may
    not hold beyond ASCII (a look-alike letter, another script's digit), else ``''``."""
    ch = next((c for c in text if not c.isascii() and c not in "µμ·"), None)
    return "" if ch is None else f" ({character(ch)} is not ASCII)"


def parse_unit(text: str) -> pint.Quantity:
    """A unit typed by a user (``TB/s``, ``GiB``, ``USD/kWh``, ``1/cm^2``, ``1e9``), strictly.

    Returns the unit as a Quantity (magnitude 1 unless the text carries a scale such as
    ``1e9``; a caller that needs it positive checks). Raises ``ValueError`` saying what is allowed for anything else: arithmetic
    beyond ``*`` and ``/``, powers above :data:`MAX_POWER` or of powers, unknown names,
    text longer than :data:`MAX_TEXT`.
    """
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        raise ValueError(f"a unit of at most {MAX_TEXT} characters such as TB/s, got {text!r}")
    pos, parts, last = 0, [], None
    stripped = text.rstrip()
    while pos < len(stripped):
        m = _UNIT_TOKEN.match(stripped, pos)
        if not m or m.end() == pos:
            raise ValueError(
                f"a unit made of unit names, numbers, *, /, parentheses and powers up to {MAX_POWER}, "
                f"got {text!r}{not_ascii(text)}"
            )
        kind = m.lastgroup if m.lastgroup != "exp" else "pow"
        if kind == "pow":
            exp = int(m.group("exp"))
            if abs(exp) > MAX_POWER or last in (None, "pow", "op"):
                raise ValueError(f"a unit with single powers of at most {MAX_POWER}, got {text!r}")
            parts.append(f"**({exp})")
        elif kind == "name":
            if not _known(m.group("name")):
                raise ValueError(f"a unit pint knows, got {m.group('name')!r} in {text!r}")
            parts.append(m.group("name"))
        else:
            parts.append({"·": "*"}.get(m.group(0).strip(), m.group(0).strip()))
        last, pos = kind, m.end()
    try:
        q = Q_(ureg.parse_expression(" ".join(parts).replace(" **", "**")))
    except Exception as e:  # pint raises several types (even AssertionError) for malformed text
        raise ValueError(f"a unit such as TB/s, got {text!r} ({e})") from None
    return q


def parse_quantity(text: str, default_unit: str | pint.Unit | None = None) -> pint.Quantity:
    """``'20 TB/s'``, ``'20TB/s'`` or a bare ``'20'`` (read in ``default_unit``), strictly.

    The number as :func:`parse_number`, the unit as :func:`parse_unit`.
    """
    m = NUMBER.match(text.strip()) if isinstance(text, str) else None
    if not m or len(text) > MAX_TEXT:
        raise ValueError(f"a number and a unit such as 20 TB/s{digits_hint(text)}, got {text!r}")
    value = parse_number(m.group(0))
    rest = text.strip()[m.end() :].strip()
    if not rest:
        return Q_(value, default_unit if default_unit is not None else "")
    q = value * parse_unit(rest)
    if not abs(q.magnitude) < float("inf"):
        raise ValueError(f"a finite quantity, got {text!r}")
    return q


__all__ = ["ureg", "Q_", "parse_unit", "parse_quantity", "not_ascii", "MAX_POWER"]
