"The package's layout stays readable: one module per concept, none too long, no import cycle, dense lines rare, docs that stand alone."
import ast, re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = {p.stem: p for p in (ROOT/'cdl').glob('*.py') if p.stem not in ('__init__', '_modidx')}


def cdl_imports(path):
    "The cdl modules that the module at `path` imports at its top level."
    out = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and (node.module.startswith('cdl.') or node.level):
            out.add(node.module.split('.')[-1] if node.module.startswith('cdl.') else node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name.split('.')[1] for a in node.names if a.name.startswith('cdl.')}
    return out & set(MODULES)


def test_no_import_cycle():
    graph = {m: cdl_imports(p) for m, p in MODULES.items()}
    state = {}
    def visit(m, stack):
        if state.get(m) == 'done': return
        assert state.get(m) != 'open', f"import cycle: {' -> '.join(stack + [m])}"
        state[m] = 'open'
        for d in sorted(graph[m]): visit(d, stack + [m])
        state[m] = 'done'
    for m in sorted(graph): visit(m, [])
    assert 'trainer' in graph['cli'] and 'presets' in graph['cli'] and 'trainer' not in graph['presets']


def test_module_sizes():
    sizes = {m: len(p.read_text().splitlines()) for m, p in MODULES.items()}
    assert sizes['trainer'] < 350, sizes['trainer']
    assert max(sizes.values()) <= 500, {m: n for m, n in sizes.items() if n > 500}


def test_dense_lines():
    "At most 1% of exported code lines over 120 characters; one statement per line (no `a; b`, no `if x: y`)."
    code = long = 0
    crowded = []
    for m, p in MODULES.items():
        src = p.read_text()
        lines = src.splitlines()
        body = [l for l in lines if l.strip() and not l.strip().startswith('#')]
        code, long = code + len(body), long + sum(len(l) > 120 for l in body)
        starts = {}
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.stmt): starts.setdefault(node.lineno, []).append(node)
            for field in ('body', 'orelse', 'finalbody'):
                seq = getattr(node, field, None)
                for st in seq if isinstance(seq, list) else []:
                    if isinstance(st, ast.stmt) and lines[st.lineno - 1][:st.col_offset].strip():
                        crowded.append(f'{m}.py:{st.lineno}')
        crowded += [f'{m}.py:{n}' for n, nodes in starts.items() if len(nodes) > 1]
    assert long <= 0.01 * code, f'{long} of {code} code lines are over 120 characters'
    assert not crowded, f'more than one statement on a line: {sorted(set(crowded))[:20]}'


def test_docs_stand_alone():
    "Users have the notebooks, the package and the README, not the developers' specification."
    files = [*ROOT.glob('nbs/*.ipynb'), *MODULES.values(), ROOT/'README.md']
    cited = [f.name for f in files if re.search(r'\bSPEC\b', f.read_text())]
    assert not cited, cited
