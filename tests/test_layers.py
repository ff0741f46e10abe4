"""The tree's layers: every import runs from a higher layer to a lower one (or within one
package), and no library module imports the command line or the app.

Run alone: ``python -m pytest tests/test_layers.py -q``. Each module's imports are read from its
source (``ast``), those inside functions included, so a lazy import is held to the same rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Package prefix -> layer; a module may import its own package or a lower layer only.
LAYERS = {
    "catalogs": 0,
    "perfmodel.inputs": 0,
    "perfmodel.units": 1,
    "perfmodel.outputs": 1,
    "perfmodel.catalog": 2,
    "perfmodel.model": 3,
    "perfmodel.api": 4,
    "perfmodel.calibration": 5,
    "tco.options": 6,
    "tco.equations": 6,
    "tco.economics": 7,
    "tco.questions": 8,
    "tco.designs": 9,
    "tco.planning": 9,
    "tco.reporting": 10,
    "liminal_cli": 11,
    "app_support": 12,
    "app_pages": 13,
    "app": 14,
}
#: Modules that only start the command line (``python -m perfmodel``, ``python -m tco``).
ENTRY_POINTS = {"perfmodel.__main__", "tco.__main__"}


def _package(module: str) -> str | None:
    """The longest prefix of ``module`` in :data:`LAYERS`."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return ".".join(parts[:n])
    return None


def _modules() -> dict[str, Path]:
    files = [*ROOT.glob("perfmodel/**/*.py"), *ROOT.glob("tco/**/*.py"), *ROOT.glob("liminal_cli/**/*.py")]
    files += [
        *ROOT.glob("app_pages/*.py"),
        ROOT / "app_support.py",
        ROOT / "app.py",
        ROOT / "catalogs/__init__.py",
    ]
    out = {}
    for f in (f for f in files if f.exists()):
        parts = list(f.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = f
    return out


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules ``path`` imports (``from a import b`` imports ``a``, and ``a.b`` when that is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(
                f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules
            )
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def _violations() -> list[str]:
    modules = _modules()
    bad = []
    for name, path in sorted(modules.items()):
        if name in ENTRY_POINTS or name in ("perfmodel", "tco"):
            continue  # the entry points start liminal_cli; the package faces only document
        own = _package(name)
        assert own is not None, f"{name} is in no layer: add its package to LAYERS"
        for imported in sorted(_imports(path, modules)):
            target = _package(imported)
            if target is None or target == own:
                continue
            if LAYERS[target] > LAYERS[own] or (LAYERS[target] == LAYERS[own] and target != own):
                bad.append(
                    f"{path.relative_to(ROOT)}: {name} (layer {LAYERS[own]}) imports {imported} (layer {LAYERS[target]})"
                )
    return bad


def test_every_import_runs_down_the_layers():
    assert _violations() == []


def test_the_rule_catches_an_import_that_runs_up(tmp_path, monkeypatch):
    # the same check on a tree with one import from the model up to the economics
    (tmp_path / "perfmodel" / "model").mkdir(parents=True)
    (tmp_path / "perfmodel" / "model" / "x.py").write_text("from tco.questions.ranking import rank\n")
    (tmp_path / "tco" / "questions").mkdir(parents=True)
    (tmp_path / "tco" / "questions" / "ranking.py").write_text("def rank(): ...\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    bad = _violations()
    assert len(bad) == 1 and "perfmodel.model.x (layer 3) imports tco.questions.ranking (layer 8)" in bad[0]


@pytest.mark.parametrize("package", ["perfmodel", "tco", "liminal_cli"])
def test_every_subpackage_says_what_it_is_for(package):
    for init in (ROOT / package).rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 200 and "import" in doc, (
            f"{init.relative_to(ROOT)} needs a paragraph on what belongs there and what it may import"
        )
