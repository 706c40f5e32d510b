"cdl_compare on run folders and a sweep: grouping by config, mean ± std over seeds, teacher-less runs, skipped unfinished runs, errors; the experiment notebook's comparison."
import json, math, os, shutil, subprocess, sys
from pathlib import Path
import pandas as pd
import pytest
from cdl.metrics import RunDir
from fakes import fake_run

NB = Path(__file__).parents[1] / 'nbs' / '06_experiments.ipynb'
ENV = {**{k: v for k, v in os.environ.items() if k != 'IN_TEST'}, 'OMP_NUM_THREADS': '1'}


def cdl_compare(*args):
    "Command line of `cdl_compare` with this interpreter."
    exe = Path(sys.executable).with_name('cdl_compare')
    return [str(exe) if exe.exists() else shutil.which('cdl_compare'), *map(str, args)]


def teacherless_run(folder, acc, seed=0):
    "A finished CLIP run (ZSCL) without a teacher: its summary has only the student."
    path = fake_run(folder, acc=(0., acc), forgetting=(0., 0.05), seed=seed, learner='ZSCL', teacher=None, distiller='none')
    summary = json.loads(RunDir(path).metrics.read_text())
    del summary['teacher']
    RunDir(path).metrics.write_text(json.dumps(summary))
    return path


@pytest.fixture
def runs(tmp_path):
    "A sweep (2 seeds of the default learner, 1 of L2P), a teacher-less run and an unfinished run."
    sweep = tmp_path / 'sweep'
    fake_run(sweep / 'demo' / 'seed0', acc=(0.8, 0.6), forgetting=(0.1, 0.2), seed=0)
    fake_run(sweep / 'demo' / 'seed1', acc=(0.9, 0.7), forgetting=(0.1, 0.3), seed=1)
    fake_run(sweep / 'demo' / 'learner-L2P' / 'seed0', acc=(0.7, 0.5), seed=0, learner='L2P')
    clip = teacherless_run(tmp_path / 'zscl', 0.45)
    killed = fake_run(tmp_path / 'killed', n_tasks=3, done=1, seed=0)
    return sweep, clip, killed


def test_cli_table_and_files(runs, tmp_path):
    sweep, clip, killed = runs
    out = tmp_path / 'compare'
    p = subprocess.run(cdl_compare(sweep, clip, killed, '--out', out), capture_output=True, text=True, env=ENV, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr[-3000:]
    assert f'skipping {killed}: unfinished (1 of 3 tasks)' in p.stderr, p.stderr
    md = p.stdout.splitlines()
    assert md[0] == ('| label | tasks | teacher acc (%) | teacher forgetting (%) | student acc (%) | student forgetting (%) '
                     '| seeds |'), md
    assert md[2] == '| learner=L2P | 2 | 70.00 | 10.00 | 50.00 | 20.00 | 1 |', md  # one seed: no std
    assert md[3] == '| learner=CODAPrompt | 2 | 85.00 ± 7.07 | 10.00 ± 0.00 | 65.00 ± 7.07 | 25.00 ± 7.07 | 2 |', md
    assert md[4] == '| learner=ZSCL | 2 | n/a | n/a | 45.00 | 5.00 | 1 |', md  # no teacher
    assert (out / 'compare.md').read_text() == p.stdout.rstrip('\n') + '\n'
    assert f'`{sweep / "demo" / "seed1"}`' in p.stdout  # the run folders of each group are listed
    table = pd.read_csv(out / 'compare.csv', index_col='label')
    assert table.index.tolist() == ['learner=L2P', 'learner=CODAPrompt', 'learner=ZSCL']
    row = table.loc['learner=CODAPrompt']
    assert (row['n_seeds'], row['seeds']) == (2, '0, 1')
    assert math.isclose(row['student_acc_mean'], 0.65) and math.isclose(row['student_acc_std'], 0.1 / math.sqrt(2))
    assert math.isclose(row['teacher_acc_mean'], 0.85) and math.isclose(row['student_forgetting_mean'], 0.25)
    assert math.isnan(table.loc['learner=L2P', 'student_acc_std'])
    assert math.isnan(table.loc['learner=ZSCL', 'teacher_acc_mean']) and table.loc['learner=ZSCL', 'student_acc_mean'] == 0.45
    assert (out / 'compare.png').stat().st_size > 1000


def test_cli_no_run(tmp_path):
    "No run folder under the paths: one line on stderr, exit status 2, nothing written (`compare_runs` has the other cases)."
    (tmp_path / 'empty' / 'logs').mkdir(parents=True)
    p = subprocess.run(cdl_compare(tmp_path / 'empty', '--out', tmp_path / 'out'), capture_output=True, text=True, env=ENV,
                       timeout=300)
    assert p.returncode == 2 and not p.stdout, p.stdout + p.stderr
    assert p.stderr == f"cdl_compare: error: no run folder (a folder with metrics.json or config.yaml) in or under {tmp_path / 'empty'}\n"
    assert not (tmp_path / 'out').exists()


def test_experiment_compares_with_other_runs(runs, tmp_path):
    "The experiment notebook with `compare_with`: its run and a sweep's runs in one table, and the `compare` figure."
    sweep, *_ = runs
    tiny = dict(root=str(tmp_path / 'data'), pretrained=False, teacher='vit_cdl_test_teacher', student='vit_cdl_test_student',
                kd_prompt_param=[5, 6], device='cpu', progress=False, n_tasks=2, epochs=1, batch_size=8, max_batches=1,
                synthetic=dict(fmt='cifar100', n_classes=4, n_train=8, n_test=4, img_size=32))
    out = tmp_path / 'run'
    p = subprocess.run([sys.executable, '-m', 'papermill', str(NB), str(tmp_path / 'out.ipynb'), '-p', 'output_dir', str(out),
                        '-p', 'overrides', json.dumps(tiny), '-y', json.dumps({'compare_with': [str(sweep)]})],
                       capture_output=True, text=True, env=ENV, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    nb = json.loads((tmp_path / 'out.ipynb').read_text())
    outputs = [o for c in nb['cells'] if c['cell_type'] == 'code' for o in c['outputs']]
    assert sum('image/png' in o.get('data', {}) for o in outputs) == 4  # the three plots of the run and the comparison
    assert RunDir(out).plot('compare').stat().st_size > 1000 and RunDir(out).report.exists()
    tables = [''.join(o['data']['text/html']) for o in outputs if 'text/html' in o.get('data', {})]
    compared = next(t for t in tables if 'student acc (%)' in t)
    assert compared.count('<th>learner=') == 3, compared  # this run's group and the two of the sweep
