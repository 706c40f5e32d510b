"Weights & Biases beside TensorBoard: a tiny run logged by the real `wandb` in offline mode (no network), read back from its files."
import json, struct
from pathlib import Path
import pytest

wandb = pytest.importorskip('wandb')
from wandb.proto import wandb_internal_pb2 as pb
from cdl.cli import run
from cdl.metrics import RunDir
from conftest import killed_in


@pytest.fixture
def offline(monkeypatch, tmp_path):
    "W&B in offline mode with all its folders in `tmp_path`; a base URL that goes nowhere, and no key."
    for k, sub in dict(WANDB_DIR='wandb', WANDB_CACHE_DIR='cache', WANDB_CONFIG_DIR='config', WANDB_DATA_DIR='data',
                       WANDB_ARTIFACT_DIR='artifacts').items():
        monkeypatch.setenv(k, str(tmp_path / 'wb' / sub))
    monkeypatch.setenv('WANDB_MODE', 'offline')
    monkeypatch.setenv('WANDB_SILENT', 'true')
    monkeypatch.setenv('WANDB_BASE_URL', 'http://127.0.0.1:9')
    monkeypatch.delenv('WANDB_API_KEY', raising=False)


def records(path, block=32768):
    "The records of a `.wandb` file (W&B's LevelDB-style log of `Record` protobufs) of an offline run."
    data, pos, buf = Path(path).read_bytes(), 7, b''
    assert data[:4] == b':W&B', data[:7]
    while pos + 7 <= len(data):
        left = block - pos % block
        _, n, kind = struct.unpack('<IHB', data[pos:pos + 7])
        if left < 7 or (n == 0 and kind == 0):  # a block's zero padding
            pos += left
            continue
        buf, pos = buf + data[pos + 7:pos + 7 + n], pos + 7 + n
        if kind in (1, 4):  # a full record, or the last piece of one
            yield pb.Record.FromString(buf)
            buf = b''


def nested(items):
    "{key: value} of a history row or summary update (`nested_key`s, e.g. an image's fields, as nested dicts)."
    out = {}
    for it in items:
        *path, last = list(it.nested_key) or [it.key]
        d = out
        for k in path:
            d = d.setdefault(k, {})
        d[last] = json.loads(it.value_json)
    return out


def offline_run(out):
    "(run record, history rows, summary, exit code) of every offline W&B run in the run folder `out`, oldest first."
    res = []
    for f in sorted(Path(out).glob('wandb/offline-run-*/run-*.wandb')):
        run_rec, rows, summary, code = None, [], {}, None
        for r in records(f):
            kind = r.WhichOneof('record_type')
            if kind == 'run':
                run_rec = r.run
            elif kind == 'history':
                rows.append(nested(r.history.item))
            elif kind == 'summary':
                summary.update(nested(r.summary.update))
            elif kind == 'exit':
                code = r.exit.exit_code
        res.append((run_rec, rows, summary, code))
    return res


def test_wandb_offline_run(tiny_cfg, offline):
    "Per-epoch losses, per-task accuracies and tables, plots, the config and the final measures reach the W&B run."
    res = run('demo', **tiny_cfg, wandb=True, wandb_project='cdl-test', tensorboard=True)
    out = Path(tiny_cfg['output_dir'])
    [(run_rec, rows, summary, code)] = offline_run(out)
    test_id = (out / 'wandb_id').read_text()
    assert (run_rec.run_id, run_rec.project, code) == (test_id, 'cdl-test', 0)
    config = {u.key: json.loads(u.value_json) for u in run_rec.config.update}
    assert config['epochs'] == 1 and config['n_tasks'] == 2 and config['wandb'] is True
    losses = [r['student/loss/task1'] for r in rows if 'student/loss/task1' in r]
    assert len(losses) == 1 and losses[0] > 0  # one epoch of task 2
    tasks = [r for r in rows if 'tasks_done' in r]
    assert [r['tasks_done'] for r in tasks] == [1, 2]
    assert tasks[-1]['student/avg_acc'] == pytest.approx(res['student']['final_avg_acc'])
    assert tasks[-1]['student/acc/task_2'] == pytest.approx(res['student']['acc_matrix'][1][1], abs=1e-5)
    table, image = tasks[-1]['student/acc_matrix'], tasks[-1]['plots/acc_matrix']
    assert table['_type'] == 'table-file' and image['_type'] == 'image-file'
    files = next(out.glob('wandb/offline-run-*/files'))
    matrix = json.loads((files / table['path']).read_text())
    assert matrix['columns'] == ['after task', 'task 1', 'task 2']
    assert [[pytest.approx(v, abs=1e-5) if v is not None else None for v in row[1:]] for row in matrix['data']] == \
        res['student']['acc_matrix'][0:1] + [res['student']['acc_matrix'][1]] and (files / image['path']).exists()
    assert summary['student/final_avg_acc'] == pytest.approx(res['student']['final_avg_acc'])
    assert summary['teacher/forgetting'] == pytest.approx(res['teacher']['forgetting'])
    assert summary['tasks_done'] == 2
    media = list(out.glob('wandb/offline-run-*/files/media/**/*.png'))
    assert len(media) == 4  # two plots after each of the two tasks
    assert list(RunDir(out).tensorboard.glob('events.out.tfevents.*'))  # TensorBoard still writes beside W&B


def test_wandb_resume_continues_the_run(tiny_cfg, offline, monkeypatch):
    "A run interrupted in task 2 finishes its W&B run as failed; resumed, it logs task 2 to the same W&B run."
    with killed_in(monkeypatch, task=1):
        run('demo', **tiny_cfg, wandb=True)
    res = run('demo', **tiny_cfg, wandb=True, resume=True)
    out = Path(tiny_cfg['output_dir'])
    cut, resumed = offline_run(out)
    assert cut[0].run_id == resumed[0].run_id == (out / 'wandb_id').read_text()
    assert cut[3] == 1 and resumed[3] == 0
    assert [r['tasks_done'] for r in cut[1] if 'tasks_done' in r] == [1]
    assert [r['tasks_done'] for r in resumed[1] if 'tasks_done' in r] == [2]
    assert resumed[2]['student/final_avg_acc'] == pytest.approx(res['student']['final_avg_acc'])
