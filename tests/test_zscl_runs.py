"""ZSCL and its baselines in complete tiny runs on the CPU (`zscl-demo`): the command's table, less forgetting than
sequential fine-tuning, zero-shot CLIP, a CLIP teacher, kill-and-resume, and a clear error for missing reference data."""
import json, subprocess

import pytest

from conftest import cli, killed_in
from cdl.cli import run
from cdl.config import ConfigError
from cdl.metrics import RunDir

QUICK = dict(progress=False, device='cpu')


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    return str(tmp_path_factory.mktemp('zscl_data'))


@pytest.fixture(scope='module')
def zscl_demo(root, tmp_path_factory):
    "`cdl_run zscl-demo` as a user runs it: its printed table and its run folder."
    out = tmp_path_factory.mktemp('zscl') / 'run'
    p = subprocess.run(cli('zscl-demo', '--set', f'root={root}', 'progress=false', '--output_dir', str(out)),
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    return p.stdout, out


def demo(root, out, **kw):
    return run('zscl-demo', root=root, output_dir=str(out), **QUICK, **kw)


def test_demo_prints_transfer_avg_last(zscl_demo):
    stdout, out = zscl_demo
    header, row = [l.split() for l in stdout.splitlines()[-3:-1]]
    assert header[-3:] == ['transfer', 'avg', 'last'] and row[0] == 'student'
    summary = json.loads(RunDir(out).metrics.read_text())['student']
    assert row[-1] == f"{summary['last'] * 100:.2f}%" and row[-3] == f"{summary['transfer'] * 100:.2f}%"
    split = json.loads(RunDir(out).split.read_text())
    assert split['task_names'] == ['Aircraft', 'DTD', 'EuroSAT'] and split['scenario'] == 'task-incremental'
    assert len(summary['acc_matrix']) == 3 and all(len(r) == 3 and None not in r for r in summary['acc_matrix'])


def test_finetune_forgets_more_than_zscl(zscl_demo, root, tmp_path):
    zscl = json.loads(RunDir(zscl_demo[1]).metrics.read_text())['student']
    ft = demo(root, tmp_path / 'ft', learner='FineTune', learner_kwargs={})['student']
    assert ft['forgetting'] > zscl['forgetting'] + 0.1
    assert zscl['last'] > ft['last']


def test_zero_shot_never_changes(root, tmp_path):
    a = demo(root, tmp_path / 'zs', learner='ZeroShot', learner_kwargs={})['student']['acc_matrix']
    assert a[0] == a[1] == a[2]  # the same initial CLIP evaluated after every task
    assert not (RunDir(tmp_path / 'zs').path / 'checkpoints' / 'step_00_00.pt').exists()


def test_clip_teacher(root, tmp_path):
    "The teacher trains first, alone; the student's KD weight changes only the student."
    kw = dict(teacher='cdl-tiny-clip-wide', distiller='KD', iterations=10)
    off, on = (demo(root, tmp_path / f'kd{a}', alpha=a, **kw) for a in (0.0, 0.9))
    assert off['teacher']['acc_matrix'] == on['teacher']['acc_matrix']
    assert off['student']['acc_matrix'] != on['student']['acc_matrix']


@pytest.mark.parametrize('learner', ['LwF', 'WiSEFT'])
def test_baselines_run(root, tmp_path, learner):
    res = demo(root, tmp_path / learner, learner=learner, learner_kwargs={}, iterations=10)
    assert res['tasks_done'] == 3 and 0 <= res['student']['transfer'] <= 1


def test_kill_and_resume(zscl_demo, root, tmp_path, monkeypatch):
    "A ZSCL run killed in its second task and resumed ends exactly as the uninterrupted `cdl_run zscl-demo`."
    with killed_in(monkeypatch, task=1):
        demo(root, tmp_path / 'cut')
    resumed = demo(root, tmp_path / 'cut', resume=True)['student']
    whole = json.loads(RunDir(zscl_demo[1]).metrics.read_text())['student']
    for a, b in zip(resumed['acc_matrix'], whole['acc_matrix']):
        assert a == pytest.approx(b, abs=1e-6)


def test_missing_reference_data(root, tmp_path):
    with pytest.raises(ConfigError, match=r'nowhere do\(es\) not exist; set learner_kwargs ref_images'):
        demo(root, tmp_path / 'x', learner_kwargs=dict(ref_images=str(tmp_path / 'nowhere')))
