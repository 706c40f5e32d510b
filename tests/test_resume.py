"A run killed (SIGKILL) after its first task resumes from the checkpoint and ends with the same metrics."
import json, os, signal, subprocess, time
from pathlib import Path
import pytest
from conftest import cli, TINY, SYN
from cdl.metrics import RunDir


def _args(data_root, out):
    import yaml
    over = dict(TINY, root=str(data_root), synthetic=SYN, n_tasks=3, epochs=2, batch_size=8, max_batches=None, learner='CODAPrompt',
                learner_kwargs=dict(pool=12), seed=3)
    sets = [a for k, v in over.items() for a in ('--set', f'{k}={yaml.safe_dump(v, default_flow_style=True).strip()}'.replace('\n...', ''))]
    return ['demo', *sets, '--output_dir', str(out)]


def test_kill_and_resume(data_root, tmp_path):
    full, killed = tmp_path / 'full', tmp_path / 'killed'
    subprocess.run(cli(*_args(data_root, full)), check=True, capture_output=True, timeout=600)
    p = subprocess.Popen(cli(*_args(data_root, killed)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = RunDir(killed).checkpoint(0)
    t0 = time.time()
    while not first.exists():
        assert p.poll() is None, 'the run ended before it could be killed'
        assert time.time() - t0 < 300
        time.sleep(0.02)
    os.kill(p.pid, signal.SIGKILL); p.wait()
    assert not RunDir(killed).checkpoint(2).exists(), 'the kill came too late to test anything'
    assert json.loads(RunDir(killed).metrics.read_text())['tasks_done'] >= 1  # outputs of task 1 survived the kill
    subprocess.run(cli(*_args(data_root, killed), '--resume'), check=True, capture_output=True, timeout=600)
    a, b = (json.loads(RunDir(d).metrics.read_text()) for d in (full, killed))
    assert b['tasks_done'] == 3
    for role in ('teacher', 'student'):
        for ra, rb in zip(a[role]['acc_matrix'], b[role]['acc_matrix']):
            assert ra == pytest.approx(rb, abs=1e-6)
    assert len(RunDir(killed).acc_csv('student').read_text().splitlines()) == 4  # header + one row per task, no duplicates
