"One run on several processes: torchrun with 2 gloo (CPU) processes reaches the accuracy matrix of a single process."
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest
from conftest import TINY, SYN, cli
from cdl.metrics import RunDir


def _args(data_root, out):
    import yaml
    over = dict(TINY, root=str(data_root), synthetic=SYN, n_tasks=2, epochs=2, batch_size=8, learner='L2P', distiller='KD_Token', seed=1)
    sets = [f'{k}={yaml.safe_dump(v, default_flow_style=True).strip()}'.replace('\n...', '') for k, v in over.items()]
    return ['demo', '--set', *sets, '--output_dir', str(out)]


def test_ddp_matches_single_process(data_root, tmp_path):
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    single, multi = tmp_path / 'single', tmp_path / 'ddp'
    subprocess.run(cli(*_args(data_root, single)), check=True, capture_output=True, timeout=600, env=env)
    torchrun = Path(sys.executable).with_name('torchrun')
    p = subprocess.run([str(torchrun), '--standalone', '--nproc_per_node=2', '--no-python', *cli(*_args(data_root, multi))],
                       capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    a, b = (json.loads(RunDir(d).metrics.read_text()) for d in (single, multi))
    n_test = SYN['n_test'] * SYN['n_classes'] // 2  # test images per task
    for role in ('teacher', 'student'):
        for ra, rb in zip(a[role]['acc_matrix'], b[role]['acc_matrix']):
            # same batches, same gradients up to the order of float reductions: at most one image may flip
            assert rb == pytest.approx(ra, abs=1.01 / n_test), (role, a[role]['acc_matrix'], b[role]['acc_matrix'])
    assert len(RunDir(multi).checkpoint_files()) == 2   # written once, by rank 0
