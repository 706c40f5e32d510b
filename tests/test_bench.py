"The GPU benchmark script runs end to end (here on the CPU with tiny models) and writes its JSON."
import json, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / 'bench'))
import throughput


def test_benchmark_smoke(tmp_path):
    out = tmp_path / 'bench.json'
    res = throughput.main(['--tiny', '--device', 'cpu', '--steps', '2', '--warmup', '1', '--batches', '8', '--run_epochs', '1', '--out', str(out)])
    saved = json.loads(out.read_text())
    assert set(saved['batches']['8']) == {'teacher_train', 'student_train', 'eval'}
    for ph in ('teacher_train', 'student_train'):
        p = res['batches'][8][ph]
        assert p['img_s'] > 0 and p['img_s_on_device'] > 0 and p['gflop_per_img'] > 0 and 0 < p['mfu']
    assert res['batches'][8]['eval']['img_s'] > 0
    f = saved['full_run']
    assert f['epochs'] == 1 and f['extrapolated_20_epochs_s'] > f['total_s'] > 0
