"The experiment notebook under papermill, and cdl_sweep on the CPU: a 2-job sweep, skipping finished jobs, resuming a killed sweep."
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest
from cdl.metrics import RunDir

NB = Path(__file__).parents[1] / 'nbs' / '06_experiments.ipynb'
TINY = dict(pretrained=False, teacher='vit_cdl_test_teacher', student='vit_cdl_test_student', kd_prompt_param=[5, 6],
            device='cpu', progress=False)  # the tiny ViTs registered with timm by cdl.vit
ENV = {**{k: v for k, v in os.environ.items() if k != 'IN_TEST'}, 'OMP_NUM_THREADS': '1'}  # IN_TEST would switch the notebook to its own test run


def tiny(root):
    "Overrides of the `demo` preset for a 2-task run on tiny models (seconds on a CPU)."
    return dict(TINY, root=str(root), n_tasks=2, epochs=1, batch_size=8, max_batches=2,
                synthetic=dict(fmt='cifar100', n_classes=4, n_train=12, n_test=6, img_size=32))


def cdl_sweep(*args):
    "Command line of `cdl_sweep` with this interpreter."
    exe = Path(sys.executable).with_name('cdl_sweep')
    return [str(exe) if exe.exists() else shutil.which('cdl_sweep'), *args]


def sweep_cmd(tmp_path, jobs):
    sets = [f'{k}={json.dumps(v)}' for k, v in tiny(tmp_path / 'data').items()]
    return cdl_sweep('--presets', 'demo', '--seeds', '0', '1', '--set', *sets,
                     '--sweep_dir', str(tmp_path / 'sweep'), '--jobs', str(jobs), '--gpus', '--notebook', str(NB))  # --gpus alone: CPU


def test_papermill_experiment(tmp_path):
    out = tmp_path / 'run'
    p = subprocess.run([sys.executable, '-m', 'papermill', str(NB), str(tmp_path / 'out.ipynb'), '-p', 'preset', 'demo',
                        '-p', 'output_dir', str(out), '-p', 'overrides', json.dumps(tiny(tmp_path / 'data'))],
                       capture_output=True, text=True, env=ENV, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    nb = json.loads((tmp_path / 'out.ipynb').read_text())
    assert any('injected-parameters' in c['metadata'].get('tags', []) for c in nb['cells'])
    outputs = [o for c in nb['cells'] if c['cell_type'] == 'code' for o in c['outputs']]
    assert sum('image/png' in o.get('data', {}) for o in outputs) == 3  # accuracy matrices, average accuracy, teacher vs student
    tables = [''.join(o['data']['text/html']) for o in outputs if 'text/html' in o.get('data', {})]
    assert any('<table' in t and 'final_avg_acc' in t and 'student' in t for t in tables)
    rd = RunDir(out)
    assert rd.read()[1]['tasks_done'] == 2
    for f in (rd.plot('acc_matrix'), rd.plot('avg_acc'), rd.plot('teacher_vs_student'), rd.report_md, rd.report):
        assert f.exists(), f
    assert rd.report_md.read_text().startswith('| model |')


def _mtimes(folder):
    return {f: f.stat().st_mtime_ns for f in Path(folder).rglob('*') if f.is_file()}


def test_sweep_on_cpu_then_skip(tmp_path):
    sweep = tmp_path / 'sweep'
    p = subprocess.run(sweep_cmd(tmp_path, 2), capture_output=True, text=True, env=ENV, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr[-3000:]
    assert p.stdout.count('[start]') == 2 and '2/2 jobs finished (0 skipped)' in p.stdout, p.stdout
    for seed in (0, 1):
        job = sweep / 'demo' / f'seed{seed}'
        assert RunDir(job).is_finished() and (job / 'experiment.ipynb').exists() and RunDir(job).report.exists()
        assert 'Output Notebook' in (job / 'sweep.log').read_text()
    csv = RunDir(sweep).report.read_text().splitlines()
    assert len(csv) == 2 and 'teacher_acc_mean' in csv[0] and 'student_forgetting_std' in csv[0] and csv[1].endswith(',2'), csv
    md = RunDir(sweep).report_md.read_text().splitlines()
    assert md[0].startswith('| config |') and md[2].startswith('| demo | demo |') and '±' in md[2], md
    assert RunDir(sweep).plot('summary').stat().st_size > 1000
    before = _mtimes(sweep / 'demo')
    p = subprocess.run(sweep_cmd(tmp_path, 2), capture_output=True, text=True, env=ENV, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr[-3000:]
    assert p.stdout.count('[skip]') == 2 and '[start]' not in p.stdout and '(2 skipped)' in p.stdout, p.stdout
    assert _mtimes(sweep / 'demo') == before  # nothing of the jobs was touched


def test_killed_sweep_resumes(tmp_path):
    first, second = (tmp_path / 'sweep' / 'demo' / f'seed{s}' for s in (0, 1))
    p = subprocess.Popen(sweep_cmd(tmp_path, 1), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, start_new_session=True)
    t0 = time.time()
    while not RunDir(first).is_finished():
        assert p.poll() is None, 'the sweep ended before it could be killed'
        assert time.time() - t0 < 240
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    assert not RunDir(second).is_finished(), 'the kill came too late to test anything'
    time.sleep(2)  # the killed job's kernel (its own session, started by jupyter_client) exits within 1 s of losing papermill
    trained = {f: f.stat().st_mtime_ns for f in [RunDir(first).log, *RunDir(first).checkpoint_files()]}
    p = subprocess.run(sweep_cmd(tmp_path, 1), capture_output=True, text=True, env=ENV, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr[-3000:]
    assert RunDir(first).is_finished() and RunDir(second).is_finished() and RunDir(first).report.exists()
    assert {f: f.stat().st_mtime_ns for f in trained} == trained  # the finished job was not trained again
    assert '[start] demo/seed1 (new)' in p.stdout or '[start] demo/seed1 (resume)' in p.stdout, p.stdout
    assert '[start] demo/seed0 (new)' not in p.stdout and '[start] demo/seed0 (resume)' not in p.stdout, p.stdout
    assert RunDir(tmp_path / 'sweep').report.read_text().splitlines()[1].endswith(',2')


def test_grid_dry_run(tmp_path):
    "--set fixes fields, --grid adds axes (one job per value); --dry_run lists the jobs; a wrong axis stops the sweep (status 2)."
    args = ['--presets', 'demo', '--seeds', '0', '1', '--set', 'epochs=1', 'kd_prompt_param=[5, 6]',
            '--grid', 'learner=["L2P","APT"]', '--sweep_dir', str(tmp_path / 'sweep'), '--notebook', str(NB), '--dry_run']
    p = subprocess.run(cdl_sweep(*args), capture_output=True, text=True, env=ENV, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr[-3000:]
    assert p.stdout.split() == ['new', 'demo/learner-L2P/seed0', 'new', 'demo/learner-L2P/seed1',
                                'new', 'demo/learner-APT/seed0', 'new', 'demo/learner-APT/seed1'], p.stdout
    assert not (tmp_path / 'sweep').exists()  # a dry run writes nothing
    p = subprocess.run(cdl_sweep(*args[:-1], '--grid', 'epochs=2', '--dry_run'), capture_output=True, text=True, env=ENV, timeout=300)
    assert p.returncode == 2 and '--grid expects' in p.stderr, p.stdout + p.stderr
