"""bf16 against the fp32 reference: `precision='auto'` picks bf16 only where the hardware computes it natively (and
the models are wide enough to gain from it), and a tiny D-CDL run in bf16 (frozen weights stored in bf16, prompt
matching in fp32) ends within 5 points of fp32's accuracy, with both far above chance."""
import pytest
import torch
from conftest import TINY
from cdl.config import RunConfig
from cdl.runtime import BF16_MIN_WIDTH, native_bf16, resolve_precision
from cdl.trainer import ContinualTrainer

SYN8 = dict(fmt='cifar100', n_classes=8, n_train=48, n_test=24, img_size=32, seed=0,
            pretrain=dict(n_classes=16, n_train=48, epochs=3, seed=123))  # stand-in pretrained weights, as the demo's
TOLERANCE = 0.05  # absolute, on the average accuracy after the last task (the demo: 0.17 and 0.83 points apart)


def _run(tmp_path, precision):
    models = dict(teacher='vit_cdl_tiny_teacher', student='vit_cdl_tiny_student', kd_prompt_param=[6, 6])  # the demo's
    cfg = RunConfig.from_dict({**TINY, **models, 'dataset': 'synthetic', 'root': str(tmp_path / 'data'), 'synthetic': SYN8,
                               'output_dir': str(tmp_path / precision), 'n_tasks': 2, 'epochs': 3, 'batch_size': 16,
                               'learner': 'CODAPrompt', 'learner_kwargs': {'pool': 10}, 'distiller': 'KD_Token',
                               'precision': precision})
    tr = ContinualTrainer(cfg)
    tr.run()
    return tr


def test_auto_precision():
    "bf16 on CUDA and on CPUs with AVX512-BF16 or AMX; fp32 on other CPUs; an explicit choice is kept."
    cpu = torch.device('cpu')
    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    assert native_bf16(cpu) == native
    assert resolve_precision(cpu, 'auto') == ('bf16' if native else 'fp32')
    assert resolve_precision(torch.device('cuda'), 'auto') == 'bf16'
    assert resolve_precision(cpu, 'fp32') == 'fp32' and resolve_precision(cpu, 'bf16') == 'bf16'
    # models narrower than ViT-Ti (the demo's, the tests') gain nothing from bf16 on a CPU: they stay fp32
    assert resolve_precision(cpu, 'auto', width=BF16_MIN_WIDTH) == ('bf16' if native else 'fp32')
    assert resolve_precision(cpu, 'auto', width=BF16_MIN_WIDTH - 1) == 'fp32'


def test_trainer_resolves_auto(tmp_path):
    "The trainer resolves 'auto' with its widest model: the tiny demo ViTs (width 96) stay fp32 on a CPU."
    cfg = RunConfig.from_dict({**TINY, 'dataset': 'synthetic', 'root': str(tmp_path / 'data'), 'n_tasks': 2,
                               'synthetic': dict(SYN8, pretrain=None), 'output_dir': str(tmp_path / 'run')})
    assert ContinualTrainer(cfg).precision == 'fp32'


def test_bf16_run_close_to_fp32(tmp_path):
    runs = {p: _run(tmp_path, p) for p in ('fp32', 'bf16')}
    assert runs['bf16'].teacher.backbone.vit.blocks[0].mlp.fc1.weight.dtype == torch.bfloat16
    assert runs['fp32'].teacher.backbone.vit.blocks[0].mlp.fc1.weight.dtype == torch.float32
    for role in ('teacher', 'student'):
        lo, ref = (runs[p].metrics.avg_acc(role)[-1] for p in ('bf16', 'fp32'))
        print(role, ref, lo)
        assert ref > 2 / SYN8['n_classes'], f'{role}: fp32 accuracy {ref} is near chance; the comparison would mean little'
        assert abs(lo - ref) <= TOLERANCE, f'{role}: bf16 {lo:.4f} vs fp32 {ref:.4f}'
