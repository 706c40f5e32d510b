"""CDL-Prompt (`prompt_map`) and the DeiT-style token (`deit`) in complete tiny runs: the interleaved update order, the
teacher's prompts at test time and the two-head mix, the checkpointed mapping, and APT's refusal."""
import pytest
import torch

from cdl.cli import make_config, run
from cdl.config import ConfigError
from cdl.metrics import RunDir
from cdl.trainer import ContinualTrainer


def test_interleaved_updates(tiny_cfg, monkeypatch):
    "Every batch: a teacher step, then a student step on the same images, reading the teacher in training mode."
    calls, original = [], ContinualTrainer.train_step

    def spy(self, phase, opt, params, x, y, *args, **kwargs):
        loss = original(self, phase, opt, params, x, y, *args, **kwargs)
        calls.append((phase.model, phase.read_mode, x.sum().item(), self.models['teacher'].training))
        return loss

    monkeypatch.setattr(ContinualTrainer, 'train_step', spy)
    run('demo', **tiny_cfg, learner='DualPrompt', distiller='prompt_map')
    assert [c[0] for c in calls] == ['teacher', 'student'] * (len(calls) // 2) and len(calls) == 2 * 2 * 2
    for (_, _, xt, _), (_, mode, xs, teacher_training) in zip(calls[::2], calls[1::2]):
        assert xt == xs and mode == 'train'
    assert all(c[3] for c in calls)  # the teacher was read in training mode (its current task's E-prompt)


def test_test_time_mix(tiny_cfg):
    """The student's accuracy is that of the mean of its two heads, with the prompts of the teacher's eval-mode
    forward on the same test batch mapped into it; recomputed here by hand after the first task."""
    tr = ContinualTrainer(make_config('demo', **tiny_cfg, distiller='prompt_map'))
    tr._open_run()
    acc = tr.run_task(0)
    idx = torch.nonzero(tr.split.eval_plan(0).tested[tr.data.test_y]).flatten()
    teacher, student, pm = tr.teacher.eval(), tr.student.eval(), tr.distiller
    hits = 0
    with torch.no_grad():
        for x, y, _ in tr.batches(False, idx, 7):
            q = student.backbone.query(x)
            s = student(x, q, extra_prompts=pm.map(teacher(x, q).prompts.prefix))
            hits += int((((s.logits + s.kd_logits) / 2)[:, :tr.split.task_range(0)[1]].argmax(1) == y).sum())
    assert acc['student'][0] == pytest.approx(hits / len(idx), abs=1e-6)
    without = (tr.losses['prompt_map'].predict(s) - s.logits).abs().sum()
    assert without > 0  # the KD head changes the prediction


def test_prompt_map_run_and_checkpoint(tiny_cfg):
    res = run('demo', **tiny_cfg, distiller='prompt_map', distiller_kwargs=dict(slicing='per_task'))
    assert res['tasks_done'] == 2
    ck = torch.load(RunDir(tiny_cfg['output_dir']).checkpoint(1), weights_only=False)
    saved = ck['losses']['prompt_map']
    assert 'map.P.0' in saved and saved['map._extra_state']['task_id'] == 1  # per-task slicing moved on
    assert 'kd_branch.head.weight' in ck['student'] and 'kd_branch.kd_token' not in ck['student']
    res = run('demo', **{**tiny_cfg, 'output_dir': tiny_cfg['output_dir'] + '_attn'}, distiller='prompt_map',
              distiller_kwargs=dict(mapping='attn'), learner='L2P', learner_kwargs=dict(pool=6, top_k=2))
    assert res['tasks_done'] == 2


def test_prompt_map_refuses_apt(tiny_cfg):
    with pytest.raises(ConfigError, match='APT adds a vector'):
        run('demo', **tiny_cfg, learner='APT', distiller='prompt_map')


@pytest.mark.parametrize('hard', [False, True])
def test_deit_run(tiny_cfg, hard):
    res = run('demo', **tiny_cfg, distiller='deit', distiller_kwargs=dict(hard=hard))
    assert res['tasks_done'] == 2
    ck = torch.load(RunDir(tiny_cfg['output_dir']).checkpoint(1), weights_only=False)
    assert ck['student']['kd_branch.kd_token'].shape[-1] == 32 and ck['student']['kd_branch.kd_prompts'].shape[0] == 0
