"The benchmark script runs end to end (here on the CPU with tiny models), writes its JSON, and its numbers are honest."
import json
import math
import re
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).parents[1] / 'bench'))
import throughput


def test_flop_counter_counts_cpu_attention():
    "On the CPU, SDPA forward + backward counts exactly torch's own attention formulas; a plain counter misses them."
    B, H, Nq, Nk, d = 2, 3, 5, 7, 4
    q = torch.randn(B, H, Nq, d, requires_grad=True)
    k = torch.randn(B, H, Nk, d, requires_grad=True)
    v = torch.randn(B, H, Nk, d, requires_grad=True)
    with throughput.flop_counter() as fc:
        F.scaled_dot_product_attention(q, k, v).sum().backward()
    fwd = 4 * B * H * Nq * Nk * d  # QK^T and PV
    bwd = 10 * B * H * Nq * Nk * d  # recomputed QK^T, dP, dV, dQ, dK
    assert fwd == throughput.sdpa_flop_count((B, H, Nq, d), (B, H, Nk, d), (B, H, Nk, d))
    assert bwd == throughput.sdpa_backward_flop_count((B, H, Nq, d), (B, H, Nq, d), (B, H, Nk, d), (B, H, Nk, d))
    assert fc.get_total_flops() == fwd + bwd
    with FlopCounterMode(display=False) as plain:
        F.scaled_dot_product_attention(q, k, v).sum().backward()
    assert plain.get_total_flops() < fwd + bwd


def test_compile_seconds_counts_a_compilation():
    "The compile-time metric the full run subtracts grows when torch.compile compiles (a tiny function, CPU)."
    before = throughput.compile_seconds()
    f = torch.compile(lambda x: (x * 2).sin().sum(), dynamic=False, backend='eager')
    f(torch.randn(3, 5))
    assert throughput.compile_seconds() > before


@pytest.fixture
def one_thread():
    "One intra-op thread for the smoke run: on a shared 2-core machine two threads can stall each other for seconds."
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_benchmark_smoke_and_honesty(tmp_path, capsys, one_thread):
    out = tmp_path / 'bench.json'
    steps = 3
    res = throughput.main(['--tiny', '--device', 'cpu', '--steps', str(steps), '--warmup', '1', '--batches', '8', '64',
                           '--full_run', '--run_epochs', '1', '--root', str(tmp_path / 'data'), '--out', str(out)])
    printed = capsys.readouterr().out
    saved = json.loads(out.read_text())
    assert set(saved['batches']) == {'8', '64'}
    assert set(saved['batches']['8']) == {'teacher_train', 'student_train', 'eval'}
    assert saved['models'] == 'tiny' and saved['precision'] in ('fp32', 'bf16')
    assert saved['threads'] == torch.get_num_threads() and isinstance(saved['cpu_flags'], list)
    # images counted are the images the data gives: task 0 holds 20, so batch 64 is one real batch of 20 images
    data = throughput.TINY_DATA
    n0 = data['n_classes'] // throughput.N_TASKS * data['n_train']
    assert n0 == 20
    for batch in (8, 64):
        lengths = throughput.epoch_lengths(n0, batch)
        assert lengths == ([8, 8, 4] if batch == 8 else [20])
        for ph in ('teacher_train', 'student_train'):
            p = res['batches'][batch][ph]
            assert p['images'] == sum(lengths[i % len(lengths)] for i in range(steps))
            assert p['batch_images'] == min(batch, n0) and p['images_on_device'] == steps * min(batch, n0)
            assert math.isclose(p['img_s'], p['images'] / p['seconds'])
            assert math.isclose(p['img_s_on_device'], p['images_on_device'] / p['seconds_on_device'])
            assert p['gflop_per_img'] > 0 and p['gflops'] > 0 and 0 < p['mfu'] and 0 < p['of_bf16_peak']
            assert math.isfinite(p['peak_gib']) and p['peak_gib'] > 0 and p['compile_in_timed_s'] == 0
        e = res['batches'][batch]['eval']
        assert e['images'] == data['n_classes'] * data['n_test']  # the last task's evaluation sees every test image
        assert e['img_s'] > 0 and math.isfinite(e['peak_gib']) and e['peak_gib'] > 0
    for ph in ('teacher_train', 'student_train'):  # FLOPs per image do not depend on the nominal batch
        a, b = res['batches'][8][ph]['gflop_per_img'], res['batches'][64][ph]['gflop_per_img']
        assert math.isclose(a, b, rel_tol=0.01)
    assert res['memory'] == 'rss' and res['peak_rss_scope'] in ('phase', 'process')
    # both matmul peaks measured and printed unrounded (never "0")
    assert res['peak_fp32'] > 0 and res['peak_bf16'] > 0 and res['peak_n'] == 1024
    shown = re.search(r'fp32 ([\d.,]+) GFLOP/s, bf16 ([\d.,]+) GFLOP/s', printed)
    assert shown and all(float(s.replace(',', '')) > 0 for s in shown.groups())
    assert '% of bf16 peak' in printed and 'peak GiB (RSS' in printed
    f = saved['full_run']
    assert f['epochs'] == 1 and f['compile_s'] == 0
    assert f['extrapolated_20_epochs_s'] > f['total_s'] > 0 and f['train_s'] > 0 and f['eval_s'] > 0


def test_peak_memory_falls_back_to_process_rss(monkeypatch):
    "Without a resettable VmHWM the CPU peak is the whole process's peak RSS, marked as such."
    cpu = torch.device('cpu')
    assert throughput.reset_peak_memory(cpu) in ('phase', 'process')

    def no_proc():
        raise OSError('no /proc')
    monkeypatch.setattr(throughput, '_vm_hwm_gib', no_proc)
    assert throughput.reset_peak_memory(cpu) == 'process'
    gib = throughput.peak_memory(cpu, 'process')
    assert math.isfinite(gib) and gib > 0.01
    res = dict(memory='rss', peak_rss_scope='process')
    assert throughput.memory_column(res) == 'peak GiB (RSS, whole process)'
