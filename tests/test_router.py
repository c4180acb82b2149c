"""The router's contract: every page starts with router.guard() and lives at /<its file stem>."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_every_page_is_guarded_and_its_url_is_its_file_stem():
    app = (ROOT / "app.py").read_text()
    calls = [c for c in app.split("st.Page(")[1:] if c.startswith('"pages/')]   # file pages (not redirects)
    pages = [(re.search(r'"pages/(\w+)\.py"', c).group(1), (re.findall(r'url_path="([^"]+)"', c) or [""])[0])
             for c in calls]
    assert len(pages) == len(list((ROOT / "pages").glob("*.py")))
    for stem, url in pages:
        if stem != "home":                      # the default page lives at /
            assert url == stem, f"pages/{stem}.py must use url_path={stem!r} (the router resolves legacy names)"
        assert "router.guard()" in (ROOT / "pages" / f"{stem}.py").read_text(), f"pages/{stem}.py lacks router.guard()"


def test_old_per_input_sigma_links_are_redirected():
    app = (ROOT / "app.py").read_text()
    assert 'url_path="per-input-sigma"' in app and 'visibility="hidden"' in app
    assert 'st.switch_page("pages/ddrs.py"' in app
