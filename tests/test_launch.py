"""Sweeps through submitit (its local executor: the Slurm code path without a cluster): a 2-job sweep killed with one
job unfinished, re-run, finishes the killed job and does not redo the other; and one run over two "nodes" (two
torchrun processes with --nnodes 2 --nproc_per_node 1, started by the launcher) reaches the single-process matrices."""
import json, os, signal, subprocess, sys, time
from pathlib import Path

import pytest

from conftest import TINY, SYN, cli
from cdl.launch import SlurmLauncher
from cdl.metrics import RunDir
from cdl.sweep import expand_grid, run_jobs

NB = Path(__file__).parents[1] / 'nbs' / '06_experiments.ipynb'
ENV = {**{k: v for k, v in os.environ.items() if k != 'IN_TEST'}, 'OMP_NUM_THREADS': '1'}


def sweep_cmd(tmp_path):
    tiny = dict(TINY, root=str(tmp_path / 'data'), n_tasks=3, batch_size=8, max_batches=2, learner_kwargs=dict(pool=12),
                synthetic=dict(fmt='cifar100', n_classes=6, n_train=12, n_test=6, img_size=32))
    sets = [f'{k}={json.dumps(v)}' for k, v in tiny.items()]
    exe = Path(sys.executable).with_name('cdl_sweep')
    return [str(exe), '--presets', 'demo', '--set', *sets, '--grid', 'epochs=[1,60]', '--sweep_dir',
            str(tmp_path / 'sweep'), '--notebook', str(NB), '--launcher', 'submitit_local', '--time_min', '10']


def test_submitit_sweep_kill_and_rerun(tmp_path):
    short, long = (tmp_path / 'sweep' / 'demo' / f'epochs-{e}' / 'seed0' for e in (1, 60))
    p = subprocess.Popen(sweep_cmd(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=ENV,
                         start_new_session=True, text=True)
    t0 = time.time()
    while not (RunDir(short).status() == "done" and RunDir(long).checkpoint(0).exists()):
        assert p.poll() is None, p.stdout.read()[-3000:]
        assert time.time() - t0 < 300
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    assert not RunDir(long).is_finished(), 'the kill came too late to test anything'
    time.sleep(2)  # the killed job's kernel exits once papermill is gone
    trained = {f: f.stat().st_mtime_ns for f in [RunDir(short).log, *RunDir(short).checkpoint_files()]}
    again = subprocess.run(sweep_cmd(tmp_path), capture_output=True, text=True, env=ENV, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    assert '[skip] demo/epochs-1/seed0 (finished)' in again.stdout, again.stdout
    assert '[start] demo/epochs-60/seed0 (resume) on local job' in again.stdout, again.stdout
    assert RunDir(short).is_finished() and RunDir(long).is_finished()
    assert {f: f.stat().st_mtime_ns for f in trained} == trained  # the finished job was not trained again
    assert (tmp_path / 'sweep' / 'submitit').is_dir()  # submitit's job files


def test_two_nodes_match_one_process(data_root, tmp_path, monkeypatch):
    "One run over two local 'nodes' (torchrun --nnodes 2, started by the submitit launcher) = the single-process run."
    over = dict(TINY, root=str(data_root), synthetic=SYN, n_tasks=2, epochs=2, batch_size=8, learner='L2P', seed=1)
    single = tmp_path / 'single'
    sets = [a for k, v in over.items() for a in ('--set', f'{k}={json.dumps(v)}')]
    subprocess.run(cli('demo', *sets, '--output_dir', str(single)), check=True, capture_output=True, timeout=600, env=ENV)
    jobs = expand_grid('demo', 1, {k: v for k, v in over.items() if k != 'seed'}, sweep_dir=tmp_path / 'sweep')
    launcher = SlurmLauncher(tmp_path / 'submitit', gpus_per_node=0, nodes=2, cluster='local', time_min=10)
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    [res] = run_jobs(jobs, NB, launcher=launcher, nodes=2, echo=lambda s: None)
    assert res.status == 'done', res.log.read_text()[-3000:]
    assert list((tmp_path / 'submitit').glob('*_1_log.out')), 'the second node (task 1) did not run'
    a, b = (json.loads(RunDir(d).metrics.read_text()) for d in (single, jobs[0].output_dir))
    n_test = SYN['n_test'] * SYN['n_classes'] // 2  # test images per task
    for role in ('teacher', 'student'):
        for ra, rb in zip(a[role]['acc_matrix'], b[role]['acc_matrix']):
            assert rb == pytest.approx(ra, abs=1.01 / n_test), (role, a[role]['acc_matrix'], b[role]['acc_matrix'])
