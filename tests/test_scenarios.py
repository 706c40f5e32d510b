"""Runs beyond Split CIFAR-100: tiny `cdl_run`s on synthetic 5-datasets, CORe50 and a Gaussian stream, whose
accuracy matrices are checked against answers known in advance."""
import json

import pytest
import torch
import torch.nn as nn

from cdl.cli import run
from cdl.config import ConfigError
from cdl.data import get_dataset, make_synthetic
from cdl.learners import L2P, learners, register_learner
from cdl.metrics import RunDir


class IncreasingLogits(nn.Module):
    "A head whose logits are 0, 1, ..., C-1 for every image: it always predicts the highest unit it may."
    def __init__(self, n_classes):
        super().__init__()
        self.register_buffer('units', torch.arange(n_classes, dtype=torch.float))

    def forward(self, x):  # (B, D) -> (B, C); the zero term keeps a gradient path through the prompts
        return self.units.expand(len(x), -1) + 0 * x[:, :1]


if 'IncreasingL2P' not in learners:
    @register_learner
    class IncreasingL2P(L2P):
        "L2P whose classifier ignores the image (see `IncreasingLogits`)."
        name = 'IncreasingL2P'

        def make_head(self, n_classes):
            return IncreasingLogits(n_classes)


def tiny(tiny_cfg, tmp_path, fmt, n_tasks, **syn):
    "Overrides of a tiny run on the synthetic format `fmt` (one epoch, two batches per task)."
    synthetic = dict(fmt=fmt, img_size=16, seed=0, **syn)
    return {**tiny_cfg, 'root': str(tmp_path / fmt), 'synthetic': synthetic, 'n_tasks': n_tasks, 'max_batches': 1,
            'pipeline': 'tensor'}


def same(got, expected, tol=1e-6):
    "Whether two accuracy matrices (lists of rows, None where not measured) agree within `tol`."
    return len(got) == len(expected) and all(
        len(g) == len(e) and all((a is None and b is None) or (a is not None and b is not None and abs(a - b) <= tol)
                                 for a, b in zip(g, e)) for g, e in zip(got, expected))


def matrices(out):
    "The metrics summary and split record of a run folder."
    rd = RunDir(out)
    return json.loads(rd.metrics.read_text()), json.loads(rd.split.read_text())


def test_five_datasets_known_answer(tiny_cfg, tmp_path):
    """After task t the model predicts unit 10t+9 for every image (the highest seen one), so the accuracy on
    task t's test data is the share of its tenth class, and 0 on every earlier task."""
    cfg = tiny(tiny_cfg, tmp_path, 'five_datasets', 5, n_classes=10, n_train=4, n_test=3)
    res = run('demo', **cfg, learner='IncreasingL2P', distiller='KD')
    _, test, _ = get_dataset('five_datasets', cfg['root'])
    share = [float((test.targets == 10 * t + 9).sum() / (test.targets // 10 == t).sum()) for t in range(5)]
    expected = [[share[t] if j == t else 0.0 for j in range(t + 1)] + [None] * (4 - t) for t in range(5)]
    summary, split = matrices(cfg['output_dir'])
    for role in ('teacher', 'student'):
        assert same(summary[role]['acc_matrix'], expected), summary[role]['acc_matrix']
        assert summary[role]['forgetting'] == pytest.approx(sum(share[:4]) / 4, abs=1e-6)
    assert res['tasks_done'] == 5 and summary['columns'] == [f'task {t}' for t in range(1, 6)]
    assert split['scenario'] == 'class-incremental' and split['sizes'] == [10] * 5
    assert split['classes_per_task'][0] == list(range(10))
    csv = RunDir(cfg['output_dir']).acc_csv('student').read_text().splitlines()
    assert csv[0] == 'task,' + ','.join(f'task_{j}' for j in range(5)) and len(csv) == 6


def test_five_datasets_refuses_class_order(tiny_cfg, tmp_path):
    cfg = tiny(tiny_cfg, tmp_path, 'five_datasets', 5, n_classes=10, n_train=2, n_test=1)
    with pytest.raises(ConfigError, match='takes no class order'):
        run('demo', **cfg, class_order_seed=0)


def test_core50_known_answer(tiny_cfg, tmp_path):
    """Domain-incremental: every session trains on all classes and the common test set is scored after each one.
    Predicting the last class always scores 1/C on the balanced test set, after every session."""
    C = 4
    cfg = tiny(tiny_cfg, tmp_path, 'core50', 8, n_classes=C, n_train=3, n_test=2)
    res = run('demo', **cfg, learner='IncreasingL2P', distiller='KD')
    summary, split = matrices(cfg['output_dir'])
    assert res['tasks_done'] == 8 and summary['columns'] == ['test']
    for role in ('teacher', 'student'):
        assert same(summary[role]['acc_matrix'], [[1 / C]] * 8), summary[role]['acc_matrix']
        assert summary[role]['avg_acc'] == pytest.approx([1 / C] * 8, abs=1e-6)
        assert summary[role]['forgetting'] is None and summary[role]['forgetting_authors'] is None
    assert split['scenario'] == 'domain-incremental' and split['domains'][:3] == ['s1', 's2', 's4']
    assert split['train_samples'] == [C * 3] * 8
    assert RunDir(cfg['output_dir']).acc_csv('teacher').read_text().splitlines()[:2] == ['task,test', '0,0.250000']


def test_core50_trains(tiny_cfg, tmp_path):
    "A real learner on CORe50: 8 rows of one accuracy each, all in [0, 1], and a checkpoint per session."
    cfg = tiny(tiny_cfg, tmp_path, 'core50', 8, n_classes=3, n_train=2, n_test=2)
    res = run('demo', **cfg | dict(pipeline='pil'), num_workers=0, learner='CODAPrompt', learner_kwargs=dict(pool=8))
    acc = res['student']['acc_matrix']
    assert len(acc) == 8 and all(len(row) == 1 and 0 <= row[0] <= 1 for row in acc)
    assert len(RunDir(cfg['output_dir']).checkpoint_files()) == 8


def test_gaussian_stream(tiny_cfg, tmp_path):
    "Task-agnostic: segments of `steps_per_task` batches, no task boundaries told, one common test set."
    cfg = tiny(tiny_cfg, tmp_path, 'gaussian_cifar100', 3, n_classes=6, n_train=4, n_test=2) | dict(learner_kwargs=dict(pool=12))
    with pytest.raises(ValueError, match='needs steps_per_task'):
        run('demo', **cfg)
    res = run('demo', **{**cfg, 'max_batches': None}, dataset_kwargs=dict(steps_per_task=2, width=1.0))
    summary, split = matrices(cfg['output_dir'])
    assert res['tasks_done'] == 3 and summary['columns'] == ['test'] and len(summary['teacher']['acc_matrix']) == 3
    assert split['scenario'] == 'task-agnostic' and split['steps_per_task'] == 2
    assert len(split['batches_per_class']) == 3 and sum(map(sum, split['batches_per_class'])) >= 6
    ck = torch.load(RunDir(cfg['output_dir']).checkpoint(2), weights_only=False)
    assert ck['teacher']['learner._extra_state']['task_id'] == 0  # never told that a segment ended


def test_split_hash_in_run_folder(tiny_cfg, tmp_path):
    "The run folder records the hash of the exact CORe50 split; another order of the sessions gives another hash."
    from cdl.benchmarks import split_hash
    from cdl.cli import make_config
    from cdl.models import load_data
    cfg = tiny(tiny_cfg, tmp_path, 'core50', 8, n_classes=2, n_train=1, n_test=1) | dict(learner_kwargs=dict(pool=8))
    run('demo', **cfg)
    recorded = matrices(cfg['output_dir'])[1]['hash']
    again = split_hash(*load_data(make_config('demo', **cfg))[:3])
    order = ['s2', 's1', 's4', 's5', 's6', 's8', 's9', 's11']
    other = split_hash(*load_data(make_config('demo', **cfg, dataset_kwargs=dict(train_sessions=order)))[:3])
    assert recorded == again != other and len(recorded) == 12


def test_mtil_known_answer(tiny_cfg, tmp_path):
    """Task-aware (MTIL): every dataset is tested after every task among its own classes. Predicting its last class
    scores that class's share of the dataset's test data, in every row, including datasets not learned yet."""
    cfg = tiny(tiny_cfg, tmp_path, 'mtil', 11, n_classes=3, n_train=2, n_test=2)
    res = run('demo', **cfg, learner='IncreasingL2P', distiller='KD')
    _, test, stream = get_dataset('mtil', cfg['root'])
    ends = torch.tensor(stream['task_sizes']).cumsum(0)
    share = [float((test.targets == e - 1).sum() / ((test.targets < e) & (test.targets >= e - k)).sum())
             for e, k in zip(ends.tolist(), stream['task_sizes'])]
    summary, split = matrices(cfg['output_dir'])
    assert res['tasks_done'] == 11 and split['scenario'] == 'task-incremental' and split['sizes'] == stream['task_sizes']
    for role in ('teacher', 'student'):
        assert same(summary[role]['acc_matrix'], [share] * 11), summary[role]['acc_matrix']
        assert summary[role]['transfer'] == pytest.approx(sum(share[1:]) / 10, abs=1e-6)
        assert summary[role]['last'] == pytest.approx(sum(share) / 11, abs=1e-6)
    assert share[7] == pytest.approx(0.1) and share[0] == pytest.approx(1 / 3)  # MNIST's ten digits; three classes
