"""The UI's two levels (ui/__init__.py): a page slice ui/<page>/ is imported by its own page only (and by its own
modules); app-wide modules at the top of ui/ never import a slice (the inspector finds the slices' providers at
run time); every slice belongs to a registered page, or to a registered run method without a page of its own
(a method slice, e.g. ui/sequential/: its inspector row and chart), which only the inspector's page imports."""
import ast
import pathlib

from ui import navigation

ROOT = pathlib.Path(__file__).resolve().parents[2]
SLICES = sorted(p.name for p in (ROOT / "ui").iterdir() if (p / "__init__.py").exists())


def _imports(path: pathlib.Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def _slices_imported_by(path: pathlib.Path) -> set[str]:
    return {name.split(".")[1] for name in _imports(path) if name.startswith("ui.") and name.split(".")[1] in SLICES}


def _method_slices() -> set[str]:
    from cert_core.runs.engine import RUN_METHODS
    return {name for name in SLICES if name in RUN_METHODS and name not in navigation.BY_KEY}


def test_every_slice_belongs_to_a_registered_page():
    assert SLICES and set(SLICES) <= set(navigation.BY_KEY) | _method_slices()


def test_a_slice_is_imported_by_its_own_page_and_modules_only():
    for path in [ROOT / "app.py", *(ROOT / navigation.FOLDER).glob("*.py"), *(ROOT / "ui").rglob("*.py")]:
        rel = path.relative_to(ROOT)
        own = {path.stem} if rel.parts[0] == navigation.FOLDER else ({rel.parts[1]} if len(rel.parts) > 2 else set())
        if path == ROOT / navigation.BOUNDARIES.file:
            own |= _method_slices()                 # the point inspector shows the method slices' charts
        assert _slices_imported_by(path) <= own, f"{rel} imports another page's slice: {_slices_imported_by(path)}"
