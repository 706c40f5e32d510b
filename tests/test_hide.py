"""HiDe learners for teacher and student in complete tiny runs: task-inference accuracy, accuracy before and after
alignment, the stored statistics, the teacher's task identity for the student, and kill-and-resume inside a task."""
import pytest
import torch

from conftest import killed_in
from cdl.cli import run
from cdl.metrics import RunDir
from cdl.trainer import ContinualTrainer

HIDE = dict(learner='HiDePrompt', learner_kwargs=dict(tii_epochs=1, ca_epochs=2, n_centroids=2))


def test_hide_run(tiny_cfg):
    res = run('demo', **tiny_cfg, **HIDE)
    assert res['tasks_done'] == 2
    for role in ('teacher', 'student'):
        tid = res[f'{role}_task_id']['acc_matrix']
        assert tid[0] == [1.0, None] and all(0 <= a <= 1 for a in tid[1])  # one task: always the right one
        before, after = res[f'{role}_before_align']['acc_matrix'], res[role]['acc_matrix']
        assert before[0] == after[0]  # nothing to align after the first task
        assert len(before[1]) == 2 and all(0 <= a <= 1 for a in before[1])
    ck = torch.load(RunDir(tiny_cfg['output_dir']).checkpoint(1), weights_only=False)
    assert ck['teacher']['learner.tap_count'].tolist() == [2] * 6  # two centroids for each of the six classes
    assert ck['student']['learner.tii_mean'].abs().sum() > 0 and 'learner.tii_head.weight' in ck['student']
    assert list(RunDir(tiny_cfg['output_dir']).checkpoints.glob('step_*.pt')) == []  # partial ones are removed


def test_student_reads_teacher_tii(tiny_cfg):
    kw = dict(HIDE, learner_kwargs=dict(HIDE['learner_kwargs'], tii_source='teacher'))
    tr = ContinualTrainer(__import__('cdl.cli', fromlist=['make_config']).make_config('demo', **tiny_cfg, **kw))
    assert tr.student.learner.tii_owner is tr.teacher.learner
    assert not any(s.name.startswith('student.tii') for s in tr.schedule(tr, 0))
    res = tr.run()
    assert res['student_task_id']['acc_matrix'] == res['teacher_task_id']['acc_matrix']


def test_kill_and_resume_inside_a_task(tiny_cfg, monkeypatch, tmp_path):
    "A run killed in the student's prompt stage of task 2 and resumed ends exactly as an uninterrupted one."
    whole = run('demo', **{**tiny_cfg, 'output_dir': str(tmp_path / 'whole')}, **HIDE)
    cut = {**tiny_cfg, 'output_dir': str(tmp_path / 'cut')}
    with killed_in(monkeypatch, task=1, stage='student.prompts'):
        run('demo', **cut, **HIDE)
    steps = sorted(p.name for p in RunDir(cut['output_dir']).checkpoints.glob('step_01_*.pt'))
    assert steps and steps[-1] == 'step_01_05.pt'  # teacher: tii, tii_align, prompts, tap; student: tii, tii_align
    resumed = run('demo', **cut, **HIDE, resume=True)
    roles = [k for k, v in whole.items() if isinstance(v, dict)]
    assert len(roles) == 6 and all(resumed[r]['acc_matrix'] == whole[r]['acc_matrix'] for r in roles)
    a = torch.load(RunDir(cut['output_dir']).checkpoint(1), weights_only=False)
    b = torch.load(RunDir(str(tmp_path / 'whole')).checkpoint(1), weights_only=False)
    for k, v in b['student'].items():
        assert torch.equal(a['student'][k], v) if torch.is_tensor(v) else a['student'][k] == v, k


def test_hide_needs_class_incremental(tiny_cfg, tmp_path):
    syn = dict(fmt='core50', n_classes=3, n_train=2, n_test=1, img_size=16)
    with pytest.raises(ValueError, match='needs a class-incremental benchmark'):
        run('demo', **{**tiny_cfg, 'root': str(tmp_path / 'c50'), 'synthetic': syn, 'n_tasks': 8}, **HIDE)


@pytest.mark.parametrize('learner', ['HiDeLoRA', 'HiDeAdapter', 'SPrompt'])
def test_other_hide_learners(tiny_cfg, learner):
    kw = dict(learner_kwargs=dict(tii_epochs=1, ca_epochs=2, n_centroids=2)) if learner != 'SPrompt' else {}
    res = run('demo', **tiny_cfg, learner=learner, **kw)
    assert res['tasks_done'] == 2
    if learner != 'SPrompt':
        assert res['student_task_id']['acc_matrix'][0] == [1.0, None]
        ck = torch.load(RunDir(tiny_cfg['output_dir']).checkpoint(1), weights_only=False)
        assert any(k.startswith('learner.pool.') for k in ck['student'])


@pytest.mark.parametrize('distiller', ['KD', 'DKD', 'FitNets', 'ReviewKD', 'deit', 'none'])
def test_hide_student_with_every_distiller(tiny_cfg, distiller):
    res = run('demo', **tiny_cfg, **HIDE, distiller=distiller)
    assert res['tasks_done'] == 2 and 'student_task_id' in res


def test_prompt_map_refuses_hide(tiny_cfg):
    with pytest.raises(ValueError, match='trains in stages of its own'):
        run('demo', **tiny_cfg, **HIDE, distiller='prompt_map')


def test_continual_lora_tii(tiny_cfg):
    "The TII model as a continual LoRA of each model's own backbone: trained in the TII stage, used for task inference."
    kw = dict(learner='HiDeLoRA', learner_kwargs=dict(HIDE['learner_kwargs'], tii_model='lora', tii_rank=2))
    res = run('demo', **tiny_cfg, **kw)
    assert res['tasks_done'] == 2 and res['teacher_task_id']['acc_matrix'][0] == [1.0, None]
    ck = torch.load(RunDir(tiny_cfg['output_dir']).checkpoint(1), weights_only=False)
    trained = [v for k, v in ck['teacher'].items() if k.startswith('learner.tii_lora.') and '_b' in k]
    assert trained and any(v.abs().sum() > 0 for v in trained)  # B starts at zero: the TII stage trained the LoRA
    assert ck['teacher']['learner.tii_mean'].shape[-1] == 48  # statistics of the teacher's own [CLS] (width 48)


def test_alignment_lifts_accuracy(tiny_cfg):
    """A case that needs alignment: after the second task the head favours its new classes, so the first task's images
    are misclassified before alignment; replaying the stored statistics of every class lifts the accuracy."""
    kw = dict(learner='HiDePrompt', learner_kwargs=dict(tii_epochs=3, ca_epochs=10, n_centroids=2))
    res = run('demo', **{**tiny_cfg, 'max_batches': None, 'epochs': 3}, **kw, lr=0.01)
    before, after = res['teacher_before_align']['acc_matrix'][1], res['teacher']['acc_matrix'][1]
    assert before[0] < 0.2 and after[0] > before[0] + 0.3, (before, after)
    assert sum(after) / 2 > sum(before) / 2 + 0.2
