"""`compile=True` without recompiles: over a 10-task run every compiled function sees one shape per mode, so the
graphs compiled in the first tasks serve all later ones; the teacher and the student keep caches of their own.

torch.compile runs with a backend that records the graphs it is given and runs them eagerly (no code generation), so
the test counts compilations in seconds. The graphs themselves are what inductor would compile."""
import logging
import pytest
import torch
from conftest import TINY
import cdl.runtime
from cdl.config import RunConfig
from cdl.trainer import ContinualTrainer

SYN10 = dict(fmt='cifar100', n_classes=20, n_train=7, n_test=3, img_size=32, seed=0)  # 14 images a task: ragged at 4


@pytest.fixture
def counted(monkeypatch):
    "The graphs torch.compile hands to its backend, as (function name, graph) pairs."
    torch._dynamo.reset()
    graphs = []
    def backend(gm, inputs):
        graphs.append(gm)
        return gm.forward
    monkeypatch.setitem(cdl.runtime.COMPILE, 'backend', backend)
    yield graphs
    torch._dynamo.reset()


def _trainer(tmp_path, **kw):
    cfg = RunConfig.from_dict({**TINY, 'dataset': 'synthetic', 'root': str(tmp_path / 'data'), 'synthetic': SYN10,
                               'output_dir': str(tmp_path / 'run'), 'n_tasks': 10, 'epochs': 1, 'batch_size': 4,
                               'eval_batch_size': 8, 'learner': 'CODAPrompt', 'learner_kwargs': {'pool': 20},
                               'distiller': 'KD_Token', 'compile': True, **kw})
    return ContinualTrainer(cfg)


class Records(logging.Handler):
    "The messages of a logger (torch's loggers do not propagate to pytest's capture)."
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_no_recompiles_over_ten_tasks(tmp_path, counted):
    """Every graph is compiled in the first task; later tasks compile nothing and nothing falls back to eager.
    Training batches are all full (topped up) and evaluation batches one size (padded), whatever the task's size."""
    tr = _trainer(tmp_path)
    seen, forward = [], tr.student.forward
    def spy(x, *a, **kw):
        seen.append((tr.student.training, len(x)))
        return forward(x, *a, **kw)
    tr.student.forward = spy
    per_task, warnings = [], Records()
    logging.getLogger('torch._dynamo').addHandler(warnings)
    try:
        for task in range(tr.n_tasks):
            tr.metrics.update(task, tr.run_task(task))
            per_task.append(len(counted))
    finally:
        logging.getLogger('torch._dynamo').removeHandler(warnings)
    # the student's query pass (train and eval batch), the teacher's forward (training, read by the student phase,
    # evaluation) and the student's forward (training, evaluation): 7 graphs, whatever the number of tasks
    assert per_task == [7] * 10, per_task
    assert not [m for m in warnings.messages if 'recompile' in m], warnings.messages
    assert len(tr.metrics.avg_acc('student')) == 10
    assert {n for training, n in seen if training} == {4}  # 14 images a task: 4 + 4 + 4 + 2 topped up to 4
    assert {n for training, n in seen if not training} == {8}  # 6 to 60 test images: the last batch padded to 8


def test_teacher_and_student_compile_separately(tmp_path, counted):
    "Each model's forward and query pass are compiled functions of their own (one cache each)."
    tr = _trainer(tmp_path)
    codes = {n: m.forward._torchdynamo_orig_callable.__func__.__code__ for n, m in tr.models.items()}
    assert codes['teacher'] is not codes['student']
    queries = {n: m.backbone._query._torchdynamo_orig_callable.__func__.__code__ for n, m in tr.models.items()}
    assert queries['teacher'] is not queries['student']
    assert all(m.learner.fixed_shapes for m in tr.models.values())
