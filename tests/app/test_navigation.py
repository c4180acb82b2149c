"""The page registry (ui/navigation.py) is the only place that names a page file: every file of the page folder
is registered, every registered file exists, keys are unique, and no other Python file spells a page path."""
import pathlib
import re

from ui import navigation

ROOT = pathlib.Path(__file__).resolve().parents[2]
# a quoted path into the page folder, e.g. "<folder>/ddrs.py" (built here so this file does not match itself)
PAGE_PATH = re.compile(r"""["'](?:app_)?pages/[\w-]+\.py["']""")


def test_every_page_file_is_registered_and_every_registered_file_exists():
    files = {p.file for p in navigation.PAGES if p.file}
    assert files == {f"{navigation.FOLDER}/{f.name}" for f in (ROOT / navigation.FOLDER).glob("*.py")}
    assert len(navigation.BY_KEY) == len(navigation.PAGES)
    assert [p for p in navigation.PAGES if p.default] == [navigation.HOME]
    for page in navigation.PAGES:
        assert page.title and page.section and (page.file is None) == (page.redirect is not None)
        assert page.redirect is None or navigation.BY_KEY[page.redirect].file


def test_no_page_path_literal_outside_the_registry():
    folders = ("ui", navigation.FOLDER, "tests", "cert_core", "bench", "tools")
    sources = [ROOT / "app.py", *(f for d in folders for f in (ROOT / d).rglob("*.py"))]
    found = [f"{f.relative_to(ROOT)}: {m.group()}" for f in sources if f != ROOT / "ui" / "navigation.py"
             for m in PAGE_PATH.finditer(f.read_text())]
    assert not found, found
