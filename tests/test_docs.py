"""The offline docs site (`cdl._docs.build_docs`, the `cdl_docs` command) documents every public function and class of every
cdl module, links every page, typesets its math offline, and ships with the package."""
import ast, configparser, importlib, inspect, json, re, shutil, subprocess, sys, tarfile, zipfile
from pathlib import Path
from urllib.parse import unquote
import pytest
from cdl._docs import build_docs, page_order

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'
CORE = ['data', 'vit', 'learners', 'distillers', 'kd_prompts', 'trainer']
# public modules only: private ones (`_docs`, `_modidx`) are not part of the API
MODULES = sorted(p.stem for p in (ROOT/'cdl').glob('*.py') if not p.stem.startswith('_') and '__all__' in p.read_text())
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


def test_private_modules_are_not_public_api():
    "The docs renderer is private (`cdl._docs`, run as `cdl_docs`); every other module with `__all__` is checked above."
    assert '_docs' not in MODULES and (ROOT/'cdl'/'_docs.py').exists() and not (ROOT/'cdl'/'docs.py').exists()


def test_console_scripts_import():
    "Every console script of settings.ini names a function that exists (`cdl_docs` moved to `cdl._docs`)."
    cfg = configparser.ConfigParser(delimiters=['='])
    cfg.read(ROOT/'settings.ini')
    scripts = dict(o.split('=') for o in cfg['DEFAULT']['console_scripts'].split())
    assert scripts['cdl_docs'] == 'cdl._docs:cdl_docs'
    for name, target in scripts.items():
        mod, fn = target.split(':')
        assert callable(getattr(importlib.import_module(mod), fn)), name


def test_links_to_anchors_resolve(site):
    "Every link to a section of a local page (`02_learners.html#codaprompt`, `#The-setting`) finds an element with that id."
    ids, broken = {}, []
    for page in site.rglob('*.html'):
        ids[page] = {unquote(i) for i in re.findall(r'\sid="([^"]+)"', page.read_text())}
    for page in site.rglob('*.html'):
        for href, frag in re.findall(r'<a\s[^>]*?href="([^"#]*)#([^"]+)"', page.read_text()):
            if re.match(r'^[a-z][a-z0-9+.-]*:|^/', href): continue
            target = (page.parent/href).resolve() if href else page.resolve()
            if unquote(frag) not in ids.get(next((p for p in ids if p.resolve() == target), None), set()):
                broken.append(f'{page.relative_to(site)} -> {href}#{frag}')
    assert not broken, broken


def test_method_page(site):
    "The Method page is built, links the code of each part (anchors checked above) and the reproducing page, and has math."
    text = (site/'method.html').read_text()
    local = re.findall(r'href="([^":]+)"', text)
    for anchor in ['tasksplit', 'masked_ce', 'prompted_attention', 'l2p', 'dualprompt', 'codaprompt', 'apt', 'kd_loss', 'dkd_loss',
                   'fitnets', 'abf', 'reviewkd', 'kdbranch', 'kdtoken', 'epoch_lr', 'metrics']:
        assert any(h.endswith(f'.html#{anchor}') for h in local), anchor
    assert 'reproducing.html' in local
    assert '$$' in text and 'arxiv.org/abs/2407.13911' in text


_re_code = re.compile(r'<(pre|code|script|style)\b.*?</\1>', re.DOTALL)
_re_tex = re.compile(r'\$\$.+?\$\$|\$[^\s$](?:[^$]*?[^\s$])?\$|\\\(.+?\\\)', re.DOTALL)  # TeX: `$x$`, not '$5 and $6'


def test_math_renders_offline(site):
    "Pages with math load MathJax from the site itself; no page loads a script or a stylesheet from another host."
    with_math = []
    for page in site.rglob('*.html'):
        text = page.read_text()
        remote = re.findall(r'<script[^>]*\ssrc="((?:[a-z]+:)?//[^"]*)"|<link[^>]*\shref="((?:[a-z]+:)?//[^"]*\.css[^"]*)"', text)
        assert not remote, f'{page.name} loads {remote}'
        for src in re.findall(r'<script[^>]*\ssrc="([^"]+)"', text): assert (page.parent/src).exists(), f'{page.name}: {src}'
        if _re_tex.search(_re_code.sub('', text)):
            with_math.append(page.name)
            assert re.search(r'<script src="(\.\./)*_static/mathjax-config\.js"></script>\s*'
                             r'<script defer src="(\.\./)*_static/mathjax/tex-chtml\.js"></script>', text), page.name
    assert {'method.html', '03_distillers.html', 'reproducing.html'} <= set(with_math), with_math
    mj = site/'_static'/'mathjax'
    assert (mj/'tex-chtml.js').stat().st_size > 500_000 and list((mj/'output'/'chtml'/'fonts'/'woff-v2').glob('*.woff'))
    assert "inlineMath: [['$', '$']" in (site/'_static'/'mathjax-config.js').read_text() and (mj/'LICENSE').exists()


CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')


@pytest.mark.skipif(CHROMIUM is None, reason='no chromium (apt-get install chromium) to check the typesetting in a browser')
def test_math_typeset_in_browser(site, tmp_path):
    "Headless Chromium opens the Method page from file:// with no network and finds MathJax's typeset equations."
    cmd = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--no-first-run', f'--user-data-dir={tmp_path/"profile"}', '--virtual-time-budget=20000',
           '--dump-dom', (site/'method.html').as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    assert dom.count('<mjx-container') >= 50, dom[-2000:]  # every $...$ became a MathJax element
    assert dom.count('display="true"') >= 10 and 'data-mjx-error' not in dom
    text = re.sub(r'<[^>]+>', '', _re_code.sub('', re.sub(r'<mjx-container\b.*?</mjx-container>', '', dom, flags=re.DOTALL)))
    assert '$' not in text, 'raw TeX left on the page'


def _code_cells(nb_path):
    return [''.join(c['source']) for c in json.loads(nb_path.read_text())['cells'] if c['cell_type'] == 'code']


def test_docs_renderer_code_is_readable():
    "cdl/_docs.py: at most 1% of lines over 120 characters, one statement per line; in 07_docs, one definition per exported cell, then its example."
    src = (ROOT/'cdl'/'_docs.py').read_text()
    lines = src.splitlines()
    assert sum(len(l) > 120 for l in lines) <= len(lines) // 100, [l for l in lines if len(l) > 120]
    dense = []
    for node in ast.walk(ast.parse(src)):
        for field in ('body', 'orelse', 'finalbody', 'handlers'):
            stmts = getattr(node, field, None)
            if not isinstance(stmts, list) or not stmts or not isinstance(node, (ast.stmt, ast.excepthandler)): continue
            if field == 'body' and stmts[0].lineno == node.lineno: dense.append(lines[node.lineno - 1])  # `if x: y`
            dense += [lines[b.lineno - 1] for a, b in zip(stmts, stmts[1:]) if a.end_lineno == b.lineno]  # `a; b`
    dense += [l for l in lines if re.match(r'\s*(else|try|finally|except\b[^:]*)\s*:\s*[^\s#]', l)]  # `else: y`
    assert not dense, dense
    cells = _code_cells(NBS/'07_docs.ipynb')
    for i, c in enumerate(cells):
        if not re.search(r'^#\|\s*export\s*$', c, re.MULTILINE): continue
        defs = [n.name for n in ast.parse(c).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert len(defs) <= 1, f'one definition per exported cell: {defs}'
        if defs:
            nxt = cells[i + 1] if i + 1 < len(cells) else ''
            assert nxt and not re.search(r'^#\|\s*(export|hide)', nxt, re.MULTILINE), f'{defs[0]} has no example after it'


def test_templates_ship_with_the_package(tmp_path):
    "The templates of `cdl_docs` are package data: in the sdist (MANIFEST.in) and in the wheel (setup.py), next to `cdl/_docs.py`."
    templates = sorted(p.name for p in (ROOT/'cdl'/'_docs_templates').iterdir())
    assert {'page.html', 'style.css', 'math.html', 'mathjax-config.js', 'redirect.html'} <= set(templates)
    src = tmp_path/'src'
    src.mkdir()
    for f in ('setup.py', 'settings.ini', 'MANIFEST.in', 'README.md', 'pyproject.toml'): shutil.copy(ROOT/f, src/f)
    shutil.copytree(ROOT/'cdl', src/'cdl', ignore=shutil.ignore_patterns('__pycache__'))
    def build(kind):  # PEP 517 hooks, one process each (setuptools keeps state between them), no network
        hook = f"import sys; from setuptools import build_meta as b; print('BUILT', b.build_{kind}(sys.argv[1]))"
        out = subprocess.run([sys.executable, '-c', hook, str(tmp_path/kind)], cwd=src, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        return tmp_path/kind/out.stdout.split('BUILT')[-1].strip()
    sdist, wheel = build('sdist'), build('wheel')
    with tarfile.open(sdist) as t: in_sdist = {Path(n).name for n in t.getnames() if '/cdl/_docs_templates/' in n}
    with zipfile.ZipFile(wheel) as z:
        in_wheel = {Path(n).name for n in z.namelist() if n.startswith('cdl/_docs_templates/')}
        entry_points = next(z.read(n).decode() for n in z.namelist() if n.endswith('entry_points.txt'))
    assert set(templates) == in_sdist == in_wheel, (templates, in_sdist, in_wheel)
    assert 'cdl_docs = cdl._docs:cdl_docs' in entry_points
