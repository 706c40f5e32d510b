"""The official L2P / DualPrompt presets run end to end on tiny models and synthetic data of their benchmarks, with
their learners' options for teacher and student (prompt-tuning, the prompt classifier, batch-wise selection, the
prompt mask, copied slots, full-length prefixes), the official preprocessing and an unfrozen backbone on CORe50."""
import pytest
import torch

from conftest import TINY
from cdl.cli import run
from cdl.metrics import RunDir
from cdl.presets import get_preset

CASES = [  # preset, tasks, synthetic data of its benchmark (real formats)
    ('official-cifar100_l2p-kd_token-vitb-vits', 2, dict(n_classes=6, n_train=8, n_test=4)),
    ('official-five_datasets_l2p-kd_token-vitb-vits', 5, dict(n_classes=10, n_train=2, n_test=2)),
    ('official-core50_l2p-none-vitb-vits', 8, dict(n_classes=3, n_train=2, n_test=2)),
    ('official-cifar100_gaussian_l2p-none-vitb-vits', 2, dict(n_classes=6, n_train=8, n_test=4)),
    ('official-cifar100_dualprompt-kd_token-vitb-vits', 2, dict(n_classes=6, n_train=8, n_test=4)),
]


@pytest.mark.parametrize('preset, n_tasks, syn', CASES, ids=[c[0].split('-')[1] for c in CASES])
def test_official_preset_runs(preset, n_tasks, syn, tmp_path):
    official = get_preset(preset)
    data = dict(fmt=official.dataset, img_size=32, seed=0, **syn)
    extra = dict(dataset_kwargs=dict(steps_per_task=2)) if official.dataset == 'gaussian_cifar100' else {}
    res = run(preset, **TINY, dataset='synthetic', root=str(tmp_path / 'data'), synthetic=data, n_tasks=n_tasks,
              epochs=1, batch_size=8, max_batches=2, num_workers=0, output_dir=str(tmp_path / 'run'), **extra)
    assert res['tasks_done'] == n_tasks
    ck = torch.load(RunDir(tmp_path / 'run').checkpoint(n_tasks - 1), weights_only=False)
    trained_backbone = any(k.startswith('backbone.') for k in ck['student'])
    assert trained_backbone == (not official.freeze_backbone)  # CORe50: the whole ViT trains and is saved
    if official.learner == 'L2P':
        assert ck['student']['learner.prompts.0'].shape[1] == official.learner_kwargs['length']  # whole tokens


def test_official_l2p_selects_by_batch_and_mask(tmp_path):
    "Teacher and student of the 5-datasets preset use the prompt mask in training and batch-wise selection at test."
    from cdl.trainer import ContinualTrainer
    cfg = get_preset('official-five_datasets_l2p-kd_token-vitb-vits').updated(
        **TINY, dataset='synthetic', root=str(tmp_path / 'data'), n_tasks=5, epochs=1, batch_size=8, max_batches=1,
        synthetic=dict(fmt='five_datasets_l2p', n_classes=10, n_train=2, n_test=2, img_size=32),
        output_dir=str(tmp_path / 'run'))
    tr = ContinualTrainer(cfg)
    x = torch.rand(4, 3, 32, 32)
    for name, m in tr.models.items():
        lr = m.learner
        assert (lr.prompt_mask, lr.batchwise, lr.copy_previous, lr.classifier) == (True, True, True, 'prompt'), name
        m.train()
        lr.next_task()  # task 1: slots 4..7
        q = tr.queries(x, [name])[name]
        keys = lr.keys[0]
        sim = torch.nn.functional.normalize(q, dim=-1) @ torch.nn.functional.normalize(keys, dim=-1).T
        assert lr.select(sim).tolist() == [[4, 5, 6, 7]] * 4
        torch.testing.assert_close(lr.prompts[0][4:8], lr.prompts[0][0:4])
        m.eval()
        idx = lr.select(sim)
        assert (idx == idx[0]).all()  # the batch's majority for every image


@pytest.mark.parametrize('distiller', ['KD', 'DKD', 'FitNets', 'ReviewKD', 'deit', 'prompt_map'])
def test_official_learners_with_every_distiller(distiller, data_root, tmp_path):
    "The official L2P (prompt-tuned) and DualPrompt (full prefixes) with each distiller; CDL-Prompt maps prefixes only."
    kw = dict(TINY, root=str(data_root), n_tasks=2, epochs=1, batch_size=8, max_batches=1, distiller=distiller,
              synthetic=dict(fmt='cifar100', n_classes=6, n_train=16, n_test=8, img_size=32, seed=0), dataset='synthetic')
    dual = run('official-cifar100_dualprompt-none-vitb-vits', **kw, output_dir=str(tmp_path / 'dual'))
    assert dual['tasks_done'] == 2
    if distiller == 'prompt_map':
        from cdl.config import ConfigError
        with pytest.raises(ConfigError, match='L2P with prompt_tuning adds tokens'):
            run('official-cifar100_l2p-none-vitb-vits', **kw, output_dir=str(tmp_path / 'l2p'))
        return
    assert run('official-cifar100_l2p-none-vitb-vits', **kw, output_dir=str(tmp_path / 'l2p'))['tasks_done'] == 2
