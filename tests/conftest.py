"Shared fixtures: tiny models and a small synthetic dataset written in the real CIFAR-100 format."
import os, shutil, sys
from contextlib import contextmanager
from pathlib import Path
import pytest

TINY = dict(pretrained=False, teacher='vit_cdl_test_teacher', student='vit_cdl_test_student',  # tiny ViTs registered by cdl.vit
            kd_prompt_param=[5, 6], device='cpu', progress=False)
SYN = dict(fmt='cifar100', n_classes=6, n_train=16, n_test=8, img_size=32, seed=0)


@pytest.fixture(scope='session')
def data_root(tmp_path_factory):
    "A synthetic CIFAR-format dataset shared by the tests (written once)."
    from cdl.data import make_synthetic
    root = tmp_path_factory.mktemp('data')
    make_synthetic(root, **SYN)
    return root


@pytest.fixture
def tiny_cfg(data_root, tmp_path):
    "Overrides for a 2-task run on tiny models (use with `cdl.cli.run('demo', **tiny_cfg)`)."
    return dict(TINY, root=str(data_root), synthetic=SYN, n_tasks=2, epochs=1, batch_size=8,
                eval_batch_size=16, max_batches=2, output_dir=str(tmp_path / 'run'))


def cli(*args):
    "Command line of `cdl_run` with this interpreter."
    exe = Path(sys.executable).with_name("cdl_run")
    return [str(exe) if exe.exists() else shutil.which("cdl_run"), *args]


@contextmanager
def killed_in(monkeypatch, task, stage=None):
    "Within the block a run stops (KeyboardInterrupt, as a kill) when it starts training `task` (its stage `stage`)."
    from cdl.trainer import ContinualTrainer
    original = ContinualTrainer.train

    def killed(self, st, t, *args, **kwargs):
        if t == task and stage in (None, st.name):
            raise KeyboardInterrupt('killed')
        return original(self, st, t, *args, **kwargs)

    monkeypatch.setattr(ContinualTrainer, 'train', killed)
    try:
        with pytest.raises(KeyboardInterrupt):
            yield
    finally:
        monkeypatch.setattr(ContinualTrainer, 'train', original)
