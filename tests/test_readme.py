"The README's quick tour pasted into a fresh interpreter; the short log of the experiment notebook under papermill."
import ast, json, os, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
README = ROOT / 'README.md'
INDEX = ROOT / 'nbs' / 'index.ipynb'
NB = ROOT / 'nbs' / '06_experiments.ipynb'
ENV = {**{k: v for k, v in os.environ.items() if k != 'IN_TEST'}, 'OMP_NUM_THREADS': '1'}  # IN_TEST: notebook test mode

# Runs the blocks one after the other in one namespace, echoing the value of a block's last expression as the
# interactive interpreter does; connecting to the network fails.
RUNNER = '''
import ast, json, socket, sys

def no_network(*args, **kwargs):
    raise OSError('the README quick tour must not use the network')

socket.socket.connect = no_network
socket.create_connection = no_network
namespace = {'__name__': '__main__'}
for i, block in enumerate(json.loads(sys.argv[1])):
    tree = ast.parse(block)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, f'<README block {i + 1}>', 'exec'), namespace)
    if last is not None:
        exec(compile(ast.Interactive([last]), f'<README block {i + 1}>', 'single'), namespace)
    print(f'--- end of block {i + 1}', flush=True)
'''


def readme_blocks(text):
    "The ```python blocks of the Markdown `text` in order, each with the output shown after it (indented) or ''."
    lines, blocks, i = text.splitlines(), [], 0
    while i < len(lines):
        if lines[i].strip() != '```python':
            i += 1
            continue
        end = lines.index('```', i + 1)
        code, i = '\n'.join(lines[i + 1:end]) + '\n', end + 1
        while i < len(lines) and not lines[i].strip():
            i += 1
        shown = []
        while i < len(lines) and (lines[i].startswith('    ') or not lines[i].strip()):
            shown.append(lines[i][4:].rstrip())
            i += 1
        blocks.append((code, '\n'.join(shown).strip('\n')))
    return blocks


def test_readme_blocks_parse():
    md = 'a\n\n```python\nx = 1\nx\n```\n\n    1\n\ntext\n\n```sh\nls\n```\n\n```python\nprint(2)\n```\n'
    assert readme_blocks(md) == [('x = 1\nx\n', '1'), ('print(2)\n', '')]


def test_readme_mirrors_index():
    "README.md is generated from nbs/index.ipynb: the same visible code cells, in the same order."
    nb = json.loads(INDEX.read_text())
    cells = [''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'code']
    visible = [s.strip() for s in cells if not re.search(r'^#\|\s*hide', s, re.M)]
    assert [code.strip() for code, _ in readme_blocks(README.read_text())] == visible


def test_readme_quick_tour_runs_in_order(tmp_path):
    "Every Python block of README.md, pasted in order into a fresh interpreter, runs and prints what the README shows."
    blocks = readme_blocks(README.read_text())
    assert len(blocks) >= 3
    p = subprocess.run([sys.executable, '-c', RUNNER, json.dumps([code for code, _ in blocks])], cwd=tmp_path,
                       capture_output=True, text=True, env=ENV, timeout=120)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    chunks = p.stdout.split('--- end of block ')  # chunk i + 1 starts with the number of block i, then block i + 1's
    printed = [chunks[0], *(c.partition('\n')[2] for c in chunks[1:])]
    for i, (code, shown) in enumerate(blocks):
        got = '\n'.join(l.rstrip() for l in printed[i].splitlines())
        assert shown in got, f'README block {i + 1} printed\n{got}\ninstead of\n{shown}'


def output_bytes(outputs):
    "Size of the JSON of `outputs`, images left out."
    text = [{**o, 'data': {k: v for k, v in o.get('data', {}).items() if not k.startswith('image/')}} for o in outputs]
    return sum(len(json.dumps(o)) for o in text)


def test_experiment_notebook_log_is_short(tmp_path):
    "Under papermill the run logs a few lines per epoch: no progress-bar redraws, no IProgress warning."
    tiny = dict(pretrained=False, teacher='vit_cdl_test_teacher', student='vit_cdl_test_student',
                kd_prompt_param=[5, 6], device='cpu', root=str(tmp_path / 'data'), n_tasks=2, epochs=2, batch_size=8,
                max_batches=4,
                synthetic=dict(fmt='cifar100', n_classes=4, n_train=12, n_test=6, img_size=32))  # progress bars on
    out = tmp_path / 'out.ipynb'
    p = subprocess.run([sys.executable, '-m', 'papermill', str(NB), str(out), '-p', 'output_dir', str(tmp_path / 'run'),
                        '-p', 'overrides', json.dumps(tiny)], capture_output=True, text=True, env=ENV, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    outputs = [o for c in json.loads(out.read_text())['cells'] if c['cell_type'] == 'code' for o in c['outputs']]
    streams = [(o['name'], ''.join(o['text'])) for o in outputs if o['output_type'] == 'stream']
    text = ''.join(t for _, t in streams)
    assert 'writing the synthetic dataset (4 classes, cifar100 format)' in text, text
    assert 'task 2/2 done' in text and '\r' not in text and 'IProgress' not in text, text
    assert len(streams) < 30, streams  # the run's lines: 8 epochs, 2 tasks; each bar would add ~10 redraws per epoch
    assert output_bytes(outputs) < 30_000, output_bytes(outputs)
    total = sum(len(json.dumps(o)) for o in outputs)
    assert total < 30_000, total  # the figures too: light copies (the run folder keeps the full-size plots)
