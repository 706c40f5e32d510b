"The offline docs site (`cdl.docs.build_docs`) documents every public function and class of every cdl module, and links every page."
import importlib, inspect, re
from pathlib import Path
import pytest
from cdl.docs import build_docs, page_order

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'
CORE = ['data', 'vit', 'learners', 'distillers', 'kd_prompts', 'trainer']
MODULES = sorted(p.stem for p in (ROOT/'cdl').glob('*.py') if p.stem not in ('__init__', '_modidx') and '__all__' in p.read_text())
_re_showdoc = re.compile(r'<div class="showdoc">\s*(?:<p>(?:(?!</p>).)*</p>\s*)?<h\d [^>]*id="([^"]+)"[^>]*>([^<]+)<a class="anchor-link"', re.DOTALL)
_re_link = re.compile(r'<(?:a|link)\s[^>]*?href="([^"#]*)(?:#[^"]*)?"')
_re_nav = re.compile(r'<ul class="nav">(.*?)</ul>', re.DOTALL)


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "The site built from the real notebooks, without executing them."
    return build_docs(NBS, tmp_path_factory.mktemp('site'))


@pytest.fixture(scope='module')
def documented(site):
    "{name: set of pages} of every `show_doc` section in the site, checking that its anchor is the name in lower case."
    res = {}
    for page in site.rglob('*.html'):
        for anchor, name in _re_showdoc.findall(page.read_text()):
            assert anchor == name.lower(), f'{page.name}: show_doc section {name} has anchor #{anchor}'
            res.setdefault(name, set()).add(page.relative_to(site).as_posix())
    return res


def public_api(mod):
    "The functions and classes in `cdl.<mod>.__all__`."
    m = importlib.import_module(f'cdl.{mod}')
    return [n for n in m.__all__ if inspect.isclass(getattr(m, n)) or inspect.isfunction(getattr(m, n))]


def test_modules_found():
    assert set(CORE) <= set(MODULES), f'modules without __all__ or missing: {sorted(set(CORE) - set(MODULES))}'


@pytest.mark.parametrize('mod', MODULES)
def test_public_api_documented(mod, documented):
    names = public_api(mod)
    assert names, f'cdl.{mod} exports no function or class'
    missing = [n for n in names if n not in documented]
    assert not missing, f'cdl.{mod}: no show_doc section in the docs for {missing} (exported from a hidden cell, or not a top-level def/class?)'


def test_index_links_every_page(site):
    pages = [p.with_suffix('.html').as_posix() for p in page_order(NBS)]
    assert 'index.html' in pages and len(pages) >= len(CORE) + 1
    for page in pages: assert (site/page).exists(), page
    nav = re.findall(r'href="([^"]+)"', _re_nav.search((site/'index.html').read_text())[1])
    assert nav == pages, 'the index sidebar lists every page, in the order of nbs/sidebar.yml'
    for page in pages:  # every page has the same sidebar, relative to itself
        nav_p = re.findall(r'href="([^"]+)"', _re_nav.search((site/page).read_text())[1])
        assert [str((Path(page).parent/h).as_posix()).removeprefix('./') for h in nav_p] == pages, page


def test_local_links_resolve(site):
    "Every link from a page to another local file (e.g. `00_data.html#taskspl`) points at a file of the site."
    broken = []
    for page in site.rglob('*.html'):
        for href in _re_link.findall(page.read_text()):
            if not href or re.match(r'^[a-z][a-z0-9+.-]*:|^/', href): continue
            if not (page.parent/href).exists(): broken.append(f'{page.relative_to(site)} -> {href}')
    assert not broken, broken
