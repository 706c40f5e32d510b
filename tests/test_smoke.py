"Every learner and every distiller runs a 2-task continual sequence end to end (tiny models, CPU)."
import json
import pytest
import torch
from cdl.cli import run
from cdl.config import ConfigError
from cdl.metrics import RunDir
from cdl.learners import learners
from cdl.distillers import distillers


@pytest.mark.parametrize('learner', list(learners))
def test_learner_smoke(learner, tiny_cfg):
    kw = dict(learner_kwargs=dict(pool=10)) if learner == 'CODAPrompt' else {}
    res = run('demo', **tiny_cfg, learner=learner, **kw)
    assert res['tasks_done'] == 2
    for role in ('teacher', 'student'):
        acc = res[role]['acc_matrix']
        assert len(acc) == 2 and len(acc[1]) == 2
        assert all(0 <= a <= 1 for t, row in enumerate(acc) for a in row[:t + 1])
        assert acc[0][1] is None  # not measured before task 2 was learned


@pytest.mark.parametrize('distiller', sorted(distillers))
def test_distiller_smoke(distiller, tiny_cfg):
    res = run('demo', **tiny_cfg, learner='L2P', distiller=distiller)
    assert res['tasks_done'] == 2
    ck = torch.load(RunDir(tiny_cfg['output_dir']).checkpoint(1), weights_only=False)
    if distiller in ('FitNets', 'ReviewKD'): assert ck['losses'][distiller], 'trainable distiller parts are checkpointed'
    if distiller == 'KD_Token': assert 'kd_branch.kd_token' in ck['student']


def test_all_five_methods_registered():
    assert {'KD_Token', 'KD', 'DKD', 'FitNets', 'ReviewKD'} <= set(distillers)


def test_run_writes_metrics(tiny_cfg):
    run('demo', **tiny_cfg)
    m = json.loads(RunDir(tiny_cfg['output_dir']).metrics.read_text())
    assert m['tasks_done'] == 2 and m['student']['final_avg_acc'] == pytest.approx(sum(m["student"]["acc_matrix"][1]) / 2, abs=1e-5)


def test_tensorboard_scalars(tiny_cfg):
    from pathlib import Path
    run('demo', **tiny_cfg, tensorboard=True)
    events = list(RunDir(tiny_cfg['output_dir']).tensorboard.glob('events.out.tfevents.*'))
    assert events and events[0].stat().st_size > 0


def test_pil_pipeline(tiny_cfg):
    "torchvision's PIL transforms through a DataLoader instead of the on-device tensor pipeline."
    res = run('demo', **tiny_cfg, pipeline='pil', num_workers=0)
    assert res['tasks_done'] == 2


def test_imagenet_r_format(tiny_cfg, tmp_path):
    "A synthetic dataset in the ImageNet-R folder format, decoded once into a cached uint8 store."
    from pathlib import Path
    syn = dict(fmt='imagenet_r', n_classes=4, n_train=8, n_test=4, img_size=32, seed=0)
    cfg = {**tiny_cfg, 'root': str(tmp_path / 'imr'), 'synthetic': syn, 'pipeline': 'tensor'}
    res = run('demo', **cfg)
    assert res['tasks_done'] == 2
    assert len(list(Path(tmp_path, 'imr', '_cdl_cache').glob('*.pt'))) == 2  # train and test stores
    res2 = run('demo', **{**cfg, 'output_dir': str(tmp_path / 'run2')})  # second run reads the cache
    assert res2['student']['acc_matrix'] == res['student']['acc_matrix']


def test_auto_pipeline(tiny_cfg, tmp_path):
    "'auto' augments CIFAR-100 on the device and ImageNet-R with torchvision's PIL transforms on the original images."
    from cdl.trainer import ContinualTrainer
    from cdl.cli import make_config
    syn = dict(fmt='imagenet_r', n_classes=4, n_train=8, n_test=4, img_size=32, seed=0)
    imr = ContinualTrainer(make_config('demo', **{**tiny_cfg, 'root': str(tmp_path / 'imr'), 'synthetic': syn, 'num_workers': 0}))
    cifar = ContinualTrainer(make_config('demo', **{**tiny_cfg, 'output_dir': str(tmp_path / 'c')}))
    assert (imr.data.pipeline, cifar.data.pipeline) == ('pil', 'tensor')
    assert imr.run()['tasks_done'] == 2
