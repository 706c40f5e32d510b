"""The docs site in a real browser: headless Chromium (Debian's `chromium`, no Python driver) opens pages built by
`cdl_docs --execute` from file:// without network and checks what a reader sees: the parameter table of a `show_doc`
section, typeset math, a figure that loads, the table of contents, the search, and no sideways scrolling at 1280 px.

Only the page needed is built, executed: the D-CDL page (nbs/04_kd_prompts.ipynb)."""
import html, json, re, shutil, subprocess
from pathlib import Path
import pytest
from cdl._docs import build_docs

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason='no chromium to open the docs in a browser: apt-get install chromium')

# Runs after the page's scripts (search.js is the last one) once the page has loaded and MathJax has typeset: types
# 'KDBranch' into the search box, then writes what it measured into <body data-probe="...">, which --dump-dom shows.
PROBE = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  var box = document.getElementById('search-box');
  box.value = 'KDBranch';
  box.dispatchEvent(new Event('input'));
  var pres = Array.prototype.slice.call(document.querySelectorAll('pre'));
  document.body.setAttribute('data-probe', JSON.stringify({
    imgs: Array.prototype.map.call(document.images, function (i) { return i.complete ? i.naturalWidth : -1; }),
    page_width: document.documentElement.scrollWidth, viewport: window.innerWidth,
    wide_pres: pres.filter(function (p) { return p.scrollWidth > p.clientWidth + 1; }).length, pres: pres.length,
    toc_right: (document.querySelector('nav.toc') || {getBoundingClientRect: function () { return {}; }})
               .getBoundingClientRect().left}));
}, 3000); });
</script>
"""


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "The D-CDL page, executed, in a site of its own (the notebook copied, with the sidebar)."
    nbs, dest = tmp_path_factory.mktemp('nbs'), tmp_path_factory.mktemp('site')
    for f in ('04_kd_prompts.ipynb', 'sidebar.yml', 'nbdev.yml', 'styles.css'): shutil.copy(NBS/f, nbs/f)
    return build_docs(nbs, dest, execute=True, timeout=300, n_workers=2)


def open_page(site, page, tmp_path):
    "The DOM of `page` after Chromium loaded it from file:// at 1280x900, with the probe's measures."
    probed = site/f'_probe_{page}'
    probed.write_text((site/page).read_text().replace('</body>', PROBE + '</body>'), encoding='utf-8')
    cmd = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--no-first-run', f'--user-data-dir={tmp_path/"profile"}', '--window-size=1280,900',
           '--virtual-time-budget=20000', '--dump-dom', probed.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    probe = re.search(r'data-probe="([^"]*)"', dom)
    assert probe, f'the page did not finish loading in the browser:\n{dom[-2000:]}'
    return dom, json.loads(html.unescape(probe[1]))


def test_dcdl_page_in_browser(site, tmp_path):
    "The D-CDL page: parameter tables in its show_doc sections, typeset math, contents, search, no sideways scrolling."
    dom, probe = open_page(site, '04_kd_prompts.html', tmp_path)
    kdbranch = re.search(r'<h3[^>]*id="kdbranch".*?(?=<div class="showdoc">|$)', dom, re.DOTALL)  # up to the next one
    assert kdbranch and 'doc-title' in kdbranch[0], 'no show_doc section for KDBranch'
    table = re.search(r'<table>.*?</table>', kdbranch[0], re.DOTALL)
    assert table and '<th>Parameter</th>' in table[0], 'the KDBranch section has no parameter table'
    names = re.findall(r'<tr>\s*<td>([^<]+)</td>', table[0])
    assert {'embed_dim', 'n_layers', 'length', 'make_head', 'head_reads'} <= set(names), names
    assert 'KD prompt length (half keys, half values)' in table[0]  # the comment after `length` in the signature
    assert dom.count('<mjx-container') >= 2 and 'data-mjx-error' not in dom, 'math not typeset'
    toc = re.search(r'<nav class="toc".*?</nav>', dom, re.DOTALL)
    assert toc and 'href="#kdbranch"' in toc[0] and 'href="#kdtoken"' in toc[0]
    assert probe['toc_right'] >= 1000, 'at 1280 px the contents are a column on the right'
    results = re.search(r'<ul id="search-results"[^>]*>(.*?)</ul>', dom, re.DOTALL)[1]
    assert re.search(r'<a href="04_kd_prompts\.html#kdbranch" class="search-api">KDBranch<', results), results[:1000]
    assert probe['page_width'] <= probe['viewport'], probe  # no sideways scrolling of the page...
    assert probe['pres'] > 5 and probe['wide_pres'] == 0, probe  # ...nor of a code block or signature


def test_figure_in_browser(site, tmp_path):
    "The executed D-CDL page shows its figure (the two heads and their mix): an image the browser decodes."
    page = (site/'04_kd_prompts.html').read_text()
    assert re.search(r'<img [^>]*src="data:image/png;base64,', page), 'the figure is not an image in the page'
    _, probe = open_page(site, '04_kd_prompts.html', tmp_path)
    assert len(probe['imgs']) == 1 and probe['imgs'][0] > 100, probe  # loaded (naturalWidth in pixels)
