"""Throughput benchmark of cdl: teacher training, student training and evaluation, plus the wall time of a full run.

Model sets (`--models`), all CODA-Prompt (100 components, length 8) with D-CDL, randomly initialised:

    paper  ViT-B/16 teacher -> ViT-S/16 student, D-CDL [12, 6], 224 px (the authors' configuration; CUDA default)
    small  ViT-S/16 teacher -> ViT-Ti/16 student, D-CDL [12, 6], 224 px (CPU default)
    tiny   the test suite's tiny ViTs on 32 px images (a smoke run; `--tiny` is the same as `--models tiny`)

The data is synthetic CIFAR-format (32 px, resized on the fly by the trainer to the student's image size). For each
phase it reports img/s end to end (the trainer's own batches, augmentation included, drawn inside the timed window) and
with one batch already on the device, counted from the images actually processed; GFLOP per image and achieved GFLOP/s
(counted with torch's FlopCounterMode, attention included on the CPU too); the fraction of a dense matmul peak measured
on the same device in the run's own precision and in bf16; and peak memory (CUDA: max allocated; CPU: peak RSS).

    python bench/throughput.py                      # CUDA: paper models, batches 64 128 256, bf16, compile, full run
    python bench/throughput.py --device cpu         # CPU: small models, batches 16 64, default precision, no full run
    python bench/throughput.py --tiny --steps 3     # a smoke run with tiny models (what the test suite runs)

Results go to bench/results/<date>_<device>_<models>.json (or --out).
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

import cdl
from cdl.config import RunConfig, resolve_device
from cdl.trainer import ContinualTrainer, Phase

MODELS = {
    'paper': dict(teacher='vit_base_patch16_224', student='vit_small_patch16_224', kd_prompt_param=[12, 6]),
    'small': dict(teacher='vit_small_patch16_224', student='vit_tiny_patch16_224', kd_prompt_param=[12, 6]),
    'tiny': dict(teacher='vit_cdl_test_teacher', student='vit_cdl_test_student', kd_prompt_param=[5, 6]),
}
N_TASKS = 10
TINY_DATA = dict(fmt='cifar100', n_classes=10, n_train=20, n_test=10, img_size=32, seed=0)  # 20 images in task 0
CIFAR_SIZE = dict(fmt='cifar100', n_classes=100, n_train=500, n_test=100, img_size=32, seed=0)  # Split CIFAR-100's size
DEFAULTS = {  # per device type: what a plain `python bench/throughput.py` measures
    'cuda': dict(models='paper', batches=[64, 128, 256], full_run=True, compile=True, steps=30, warmup=5, peak_n=8192),
    'cpu': dict(models='small', batches=[16, 64], full_run=False, compile=False, steps=8, warmup=2, peak_n=4096),
}
AUTHORS = dict(teacher_train=279, teacher_train_on_device=309, student_train=324, student_train_on_device=358, eval=510,
               peak_gib=10.4)
CPU_FLAGS = ('avx2', 'avx512f', 'avx512_bf16', 'avx512_fp16', 'amx_tile', 'amx_bf16', 'amx_int8', 'amx_fp16')


def sync(device):
    "Wait for the work queued on `device` (CUDA is asynchronous; the CPU is not)."
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------------------------------------- FLOPs

def _sdpa_cpu_flop(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
    "FLOPs of `aten._scaled_dot_product_flash_attention_for_cpu` (shapes given by FlopCounterMode's shape wrapper)."
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def _sdpa_cpu_backward_flop(grad_out_shape, query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
    "FLOPs of `aten._scaled_dot_product_flash_attention_for_cpu_backward`."
    return sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)


CPU_SDPA_FLOPS = {  # torch has formulas for the CUDA attention kernels only; these reuse them for the CPU ones
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _sdpa_cpu_flop,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward: _sdpa_cpu_backward_flop,
}


def flop_counter(display=False):
    "A FlopCounterMode that also counts the CPU scaled-dot-product-attention kernels (forward and backward)."
    return FlopCounterMode(display=display, custom_mapping=CPU_SDPA_FLOPS)


# ---------------------------------------------------------------------------------------------- device facts

def cpu_info():
    "(model name, the flags of `CPU_FLAGS` it has) from /proc/cpuinfo; (platform.processor(), []) elsewhere."
    try:
        text = Path('/proc/cpuinfo').read_text()
    except OSError:
        return platform.processor() or 'cpu', []
    name = re.search(r'^model name\s*:\s*(.+)$', text, re.M)
    flags = re.search(r'^flags\s*:\s*(.+)$', text, re.M)
    have = set(flags.group(1).split()) if flags else set()
    return (name.group(1).strip() if name else platform.processor() or 'cpu'), [f for f in CPU_FLAGS if f in have]


def matmul_peak(device, dtype, n, repeats=3, target_s=0.2):
    "Measured dense (n x n) @ (n x n) matmul throughput in GFLOP/s: the best of `repeats` timed runs after warm-up."
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    c = torch.empty(n, n, device=device, dtype=dtype)
    torch.matmul(a, b, out=c)  # warm-up: library initialisation, thread pool, kernel choice
    sync(device)
    t0 = time.perf_counter()
    torch.matmul(a, b, out=c)
    sync(device)
    iters = max(2, min(50, math.ceil(target_s / max(time.perf_counter() - t0, 1e-6))))  # each repeat >= target_s
    best = math.inf
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        for _ in range(iters):
            torch.matmul(a, b, out=c)
        sync(device)
        best = min(best, (time.perf_counter() - t0) / iters)
    return 2 * n ** 3 / best / 1e9


def remeasure_peaks(res, device, n):
    "Measure both peaks again after the phases, keep the higher of each and recompute the ratios from them."
    for key, dtype in (('peak_fp32', torch.float32), ('peak_bf16', torch.bfloat16)):  # a busy start reads low
        res[key] = max(res[key], matmul_peak(device, dtype, n))
    peaks = dict(fp32=res['peak_fp32'], bf16=res['peak_bf16'])
    for r in res['batches'].values():
        for ph in ('teacher_train', 'student_train'):
            r[ph].update(mfu=r[ph]['gflops'] / peaks[res['precision']], of_bf16_peak=r[ph]['gflops'] / peaks['bf16'])


def fmt(v):
    "A number for the tables: thousands without decimals, smaller ones to 3 significant digits (never a rounded 0)."
    if v is None or not math.isfinite(v):
        return 'n/a'
    return f'{v:,.0f}' if abs(v) >= 1000 else f'{v:.3g}'


# ---------------------------------------------------------------------------------------------- peak memory

def _vm_hwm_gib():
    "This process's peak resident set size (VmHWM) since the last reset, in GiB."
    kb = re.search(r'^VmHWM:\s+(\d+) kB', Path('/proc/self/status').read_text(), re.M)
    return int(kb.group(1)) / 2 ** 20


def reset_peak_memory(device):
    "Start a phase's peak-memory window; returns its scope: 'phase' (reset worked) or 'process' (since the start)."
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
        return 'phase'
    try:  # Linux: writing 5 to clear_refs resets VmHWM to the current RSS
        Path('/proc/self/clear_refs').write_text('5')
        _vm_hwm_gib()
        return 'phase'
    except (OSError, AttributeError):
        return 'process'


def peak_memory(device, scope):
    "Peak memory (GiB) of the window opened by `reset_peak_memory`: CUDA max allocated, or peak RSS on the CPU."
    if device.type == 'cuda':
        return torch.cuda.max_memory_allocated(device) / 2 ** 30
    if scope == 'phase':
        return _vm_hwm_gib()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # the whole process's peak: KiB on Linux, bytes on macOS
    return rss / (2 ** 30 if sys.platform == 'darwin' else 2 ** 20)


# ---------------------------------------------------------------------------------------------- compile time

def compile_seconds():
    "Seconds torch.compile has spent so far in this process (dynamo frames, and backward graphs compiled lazily)."
    from torch._dynamo.utils import compilation_time_metrics
    return sum(sum(compilation_time_metrics.get(k, [])) for k in ('_compile.compile_inner', 'backward._backward_impl'))


# ---------------------------------------------------------------------------------------------- the measurements

def train_per_class(batches, classes_per_task, least=80, most=160):
    "Training images per class: the fewest >= `least` making task 0 a whole number of every batch (if <= `most`)."
    for n in range(least, most + 1):
        if all(n * classes_per_task % b == 0 for b in batches):
            return n
    return least


def bench_data(args, device):
    "The synthetic data of the per-batch measurements: no ragged training batches, a short evaluation."
    if args.models == 'tiny':
        return TINY_DATA
    n_test = 50 if device.type == 'cuda' else 5  # evaluation of the last task: 5,000 (CUDA) or 500 (CPU) images
    return dict(CIFAR_SIZE, n_train=train_per_class(args.batches, CIFAR_SIZE['n_classes'] // N_TASKS), n_test=n_test)


def make_trainer(args, batch, root, out, data):
    "A trainer with the benchmark's configuration (task 0 of 10 is the one trained)."
    cfg = RunConfig.from_dict({**MODELS[args.models], 'synthetic': data, 'dataset': 'synthetic', 'root': str(root),
                               'pretrained': False, 'learner': 'CODAPrompt', 'distiller': 'KD_Token',
                               'n_tasks': N_TASKS, 'batch_size': batch, 'eval_batch_size': args.eval_batch or RunConfig.eval_batch_size,
                               'epochs': args.run_epochs, 'device': args.device, 'precision': args.precision,
                               'compile': args.compile, 'progress': False, 'output_dir': str(out)})
    if args.compile:
        torch._dynamo.reset()  # each trainer compiles afresh (as a new process would), within the recompile limit
    return ContinualTrainer(cfg)


def phase_of(tr, role):
    "The phase of the default schedule that trains `role`."
    if role == 'teacher':
        return Phase('teacher', 'none')
    return Phase('student', tr.cfg.distiller, reads=('teacher',))


def epoch_lengths(n, batch):
    "The sizes of the batches of one epoch over `n` images (the last one partial when `batch` does not divide `n`)."
    return [batch] * (n // batch) + ([n % batch] if n % batch else [])


def time_steps(tr, role, make_batches, steps, warmup, cover=()):
    """Seconds, images and compile seconds of `steps` training steps of `role` on a fresh `make_batches()` (an
    endless iterator of (x, y, ...) created inside the timed window), after `warmup` untimed steps on another one and
    one untimed step on each batch of `cover` (shapes the timed steps meet that the warm-up did not: compiled graphs
    are built untimed, so the compile seconds inside the window should be 0)."""
    phase = phase_of(tr, role)
    params, opt = tr.optimizer(phase)
    start, end = tr.split.task_range(0)
    it = make_batches()
    for _ in range(warmup):
        tr.train_step(phase, opt, params, *next(it)[:2], start, end)
    for x, y in cover:
        tr.train_step(phase, opt, params, x, y, start, end)
    del it
    images, c0 = 0, compile_seconds()
    sync(tr.device)
    t0 = time.perf_counter()
    it = make_batches()
    for _ in range(steps):
        x, y = next(it)[:2]
        tr.train_step(phase, opt, params, x, y, start, end)
        images += len(x)
    sync(tr.device)
    return time.perf_counter() - t0, images, compile_seconds() - c0


def step_flops(tr, role, x, y):
    "FLOPs of one training step of `role` on (x, y): forward and backward, counted (eagerly), not estimated."
    phase = phase_of(tr, role)
    params, opt = tr.optimizer(phase)
    start, end = tr.split.task_range(0)
    with torch.compiler.set_stance('force_eager'), flop_counter() as fc:
        tr.train_step(phase, opt, params, x, y, start, end)
    return fc.get_total_flops()


class CountImages:
    "Counts the images of the batches the trainer's `batches` yields while active (e.g. what `evaluate` processes)."
    def __init__(self, tr):
        self.data, self.images = tr.data, 0

    def __enter__(self):
        inner = self.data.batches

        def counted(*args, **kwargs):
            for b in inner(*args, **kwargs):
                self.images += len(b[0])
                yield b
        self.data.batches = counted  # an instance attribute shadows the method until __exit__
        return self

    def __exit__(self, *exc):
        del self.data.batches


def bench_batch(tr, args, batch, peaks):
    "Numbers of the three phases at one batch size (img/s from the images actually processed)."
    dev, out = tr.device, {}
    idx = torch.nonzero(tr.data.train_y < tr.split.task_range(0)[1]).flatten()  # task 0's training images
    x, y, _ = next(iter(tr.batches(True, idx, batch, torch.Generator().manual_seed(0))))  # one real batch
    lengths = epoch_lengths(len(idx), batch)
    seen = {lengths[i % len(lengths)] for i in range(args.warmup)}
    timed = {lengths[i % len(lengths)] for i in range(args.steps)}
    cover = [(x[:n], y[:n]) for n in sorted(timed - seen)] if args.compile else []

    def endless():  # the trainer's own on-device batches, epoch after epoch
        g = torch.Generator().manual_seed(0)
        while True:
            yield from tr.batches(True, idx, batch, g)

    def fixed():
        while True:
            yield x, y
    for role in ('teacher', 'student'):
        scope = reset_peak_memory(dev)
        e2e_s, e2e_images, e2e_compile = time_steps(tr, role, endless, args.steps, args.warmup, cover)
        dev_s, dev_images, dev_compile = time_steps(tr, role, fixed, args.steps, args.warmup)
        mem = peak_memory(dev, scope)
        flops = step_flops(tr, role, x, y)
        gflops = flops / (dev_s / args.steps) / 1e9  # achieved, batch on the device
        out[f'{role}_train'] = dict(
            steps=args.steps, images=e2e_images, seconds=e2e_s, img_s=e2e_images / e2e_s,
            batch_images=len(x), images_on_device=dev_images, seconds_on_device=dev_s,
            img_s_on_device=dev_images / dev_s,
            gflop_per_img=flops / len(x) / 1e9, gflops=gflops, mfu=gflops / peaks[tr.precision],
            of_bf16_peak=gflops / peaks['bf16'], peak_gib=mem, compile_in_timed_s=e2e_compile + dev_compile)
    scope = reset_peak_memory(dev)
    tr.evaluate(tr.n_tasks - 1)  # warm-up (and compilation of every evaluation shape)
    with CountImages(tr) as counted:
        c0 = compile_seconds()
        sync(dev)
        t0 = time.perf_counter()
        tr.evaluate(tr.n_tasks - 1)  # the last task sees every test image
        sync(dev)
        dt = time.perf_counter() - t0
    out['eval'] = dict(images=counted.images, seconds=dt, img_s=counted.images / dt, peak_gib=peak_memory(dev, scope),
                       compile_in_timed_s=compile_seconds() - c0)
    late = {k: v['compile_in_timed_s'] for k, v in out.items() if v['compile_in_timed_s'] > 0}
    if late:
        print(f"warning: batch {batch}: torch.compile compiled inside timed windows ({late} s); those numbers are low",
              flush=True)
    return out


def full_run(args, root, batch, data):
    """Wall time of a whole 10-task D-CDL run with `args.run_epochs` epochs per task, and its extrapolation to 20:
    the seconds spent compiling are reported apart (`compile_s`) and left out of train/eval before extrapolating."""
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        tr = make_trainer(args, batch, root, Path(out) / 'run', data)
        setup = time.perf_counter() - t0
        c0 = compile_seconds()
        wall, evals, eval_compile, evaluate = 0., [0.], [0.], tr.evaluate

        def timed_evaluate(task):
            sync(tr.device)
            c, t = compile_seconds(), time.perf_counter()
            accs = evaluate(task)
            sync(tr.device)
            evals[0] += time.perf_counter() - t
            eval_compile[0] += compile_seconds() - c
            return accs
        tr.evaluate = timed_evaluate
        for task in range(tr.n_tasks):
            t = time.perf_counter()
            tr.metrics.update(task, tr.run_task(task))  # the schedule's stages and post-task steps, then the evaluation
            sync(tr.device)
            wall += time.perf_counter() - t
        compile_s = compile_seconds() - c0
        eval_s = evals[0] - eval_compile[0]
        train_s = wall - evals[0] - (compile_s - eval_compile[0])
    return dict(epochs=args.run_epochs, images_per_class=data['n_train'], setup_s=setup, compile_s=compile_s,
                train_s=train_s, eval_s=eval_s, total_s=setup + wall,
                extrapolated_20_epochs_s=setup + compile_s + eval_s + train_s * 20 / args.run_epochs,
                student_final_avg_acc=tr.metrics.avg_acc('student')[-1])


# ---------------------------------------------------------------------------------------------- report

def memory_column(res):
    "The peak-memory column's name: which memory it is."
    if res['memory'] == 'cuda_allocated':
        return 'peak GiB (CUDA allocated)'
    return 'peak GiB (RSS)' if res.get('peak_rss_scope') == 'phase' else 'peak GiB (RSS, whole process)'


def table(res):
    "The per-batch results as a markdown table (pasted as is into bench/README.md)."
    own = res['precision']
    rows = [f"| batch | phase | img/s end to end | img/s batch on device | GFLOP/img | GFLOP/s | % of own ({own}) peak "
            f"| % of bf16 peak | {memory_column(res)} |", '|---|---|---|---|---|---|---|---|---|']
    for b, r in res['batches'].items():
        for ph in ('teacher_train', 'student_train'):
            p = r[ph]
            rows.append(f"| {b} | {ph} | {fmt(p['img_s'])} | {fmt(p['img_s_on_device'])} | {fmt(p['gflop_per_img'])} "
                        f"| {fmt(p['gflops'])} | {fmt(p['mfu'] * 100)}% | {fmt(p['of_bf16_peak'] * 100)}% "
                        f"| {p['peak_gib']:.2f} |")
        e = r['eval']
        rows.append(f"| {b} | eval (teacher + student) | {fmt(e['img_s'])} | | | | | | {e['peak_gib']:.2f} |")
    return '\n'.join(rows)


def header(res):
    "The lines printed before the measurements: device, threads, precision and the measured peaks."
    dev = res['device']
    if res['device_type'] == 'cpu':
        flags = ', '.join(res['cpu_flags']) or 'no avx512_bf16 / amx'
        dev = f"{dev} (flags: {flags}), {res['threads']} threads on {res['cores']} cores"
        if res['load_avg'] is not None:
            busy = res['load_avg'] > 0.75
            dev += f", load average {res['load_avg']:.1f} at the start" + (
                ' (other processes compete for the cores: the numbers may be low)' if busy else '')
    return (f"device: {dev}\nmodels: {res['models']} ({res['teacher']} -> {res['student']}), precision "
            f"{res['precision']}, compile {res['args']['compile']}, torch {res['torch']}\n"
            f"measured matmul peak (n={res['peak_n']}): fp32 {fmt(res['peak_fp32'])} GFLOP/s, "
            f"bf16 {fmt(res['peak_bf16'])} GFLOP/s")


def parse_args(argv):
    "The command line, with the device-dependent defaults (`DEFAULTS`) filled in."
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default='auto')
    p.add_argument('--models', choices=list(MODELS), default=None, help="default: 'paper' on CUDA, 'small' on CPU")
    p.add_argument('--tiny', action='store_true', help='the same as --models tiny (tiny models on 32 px images)')
    p.add_argument('--precision', default='auto', choices=['auto', 'fp32', 'bf16'], help="'auto': the library's choice")
    p.add_argument('--compile', action=argparse.BooleanOptionalAction, default=None, help='default: on CUDA only')
    p.add_argument('--batches', type=int, nargs='*', default=None,
                   help='batch sizes (default: 64 128 256 on CUDA, 16 64 on CPU)')
    p.add_argument('--eval_batch', type=int, default=None, help="test batch (default: RunConfig's, 256)")
    p.add_argument('--steps', type=int, default=None, help='timed steps per loop (default: 30 CUDA, 8 CPU)')
    p.add_argument('--warmup', type=int, default=None, help='untimed steps before each loop (default: 5 CUDA, 2 CPU)')
    p.add_argument('--peak_n', type=int, default=None, help='side of the peak matmul (default: 8192 CUDA, 4096 CPU, '
                                                            '1024 tiny)')
    p.add_argument('--run_epochs', type=int, default=1,
                   help='epochs per task of the measured full run (extrapolated to 20)')
    p.add_argument('--full_run', action=argparse.BooleanOptionalAction, default=None, help='default: on CUDA only')
    p.add_argument('--root', default=None,
                   help='where the synthetic CIFAR-format data is written (default: a temp dir)')
    p.add_argument('--out', default=None, help='JSON output path (default bench/results/<date>_<device>_<models>.json)')
    args = p.parse_args(argv)
    device = resolve_device(args.device)
    defaults = DEFAULTS['cuda' if device.type == 'cuda' else 'cpu']
    if args.tiny:
        args.models = 'tiny'
    if args.models == 'tiny':
        defaults = dict(defaults, compile=False, peak_n=1024)
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    return args, device


def main(argv=None):
    args, device = parse_args(argv)
    tmp = tempfile.TemporaryDirectory()
    root = Path(args.root or tmp.name)
    res = dict(date=datetime.date.today().isoformat(), cdl=cdl.__version__, torch=torch.__version__,
               python=platform.python_version(), args=vars(args), models=args.models, **MODELS[args.models],
               authors_h100=AUTHORS, device_type=device.type, threads=torch.get_num_threads(), batches={})
    if device.type == 'cuda':
        res.update(device=torch.cuda.get_device_name(device), cpu_flags=[], memory='cuda_allocated')
    else:
        name, flags = cpu_info()
        res.update(device=name, cpu_flags=flags, memory='rss', peak_rss_scope=reset_peak_memory(device),
                   cores=os.cpu_count(), load_avg=os.getloadavg()[0] if hasattr(os, 'getloadavg') else None)
    res.update(peak_n=args.peak_n, peak_unit='GFLOP/s', peak_fp32=matmul_peak(device, torch.float32, args.peak_n),
               peak_bf16=matmul_peak(device, torch.bfloat16, args.peak_n))
    data = bench_data(args, device)
    res['data'] = data
    for batch in args.batches:
        with tempfile.TemporaryDirectory() as out:
            tr = make_trainer(args, batch, root / 'bench', out, data)
            if 'precision' not in res:
                res['precision'] = tr.precision
                print(header(res), flush=True)
            peaks = dict(fp32=res['peak_fp32'], bf16=res['peak_bf16'])
            res['batches'][batch] = bench_batch(tr, args, batch, peaks)
            done = res['batches'][batch]
            print(f"batch {batch}: " + ', '.join(f"{k} {fmt(v['img_s'])} img/s" for k, v in done.items()), flush=True)
        del tr
        if device.type == 'cuda':
            torch.cuda.empty_cache()
    remeasure_peaks(res, device, args.peak_n)
    if args.full_run:
        best = max(res['batches'], key=lambda b: res['batches'][b]['student_train']['img_s'])
        full_data = TINY_DATA if args.models == 'tiny' else CIFAR_SIZE
        res['full_run'] = dict(batch=best, **full_run(args, root / 'full', best, full_data))
    print()
    print(header(res))
    print()
    print(table(res))
    if 'full_run' in res:
        f = res['full_run']
        print(f"\nfull 10-task run, batch {f['batch']}, {f['epochs']} epoch(s)/task: {f['total_s']:.1f} s measured "
              f"(compile {f['compile_s']:.1f} s, train {f['train_s']:.1f} s, eval {f['eval_s']:.1f} s); "
              f"extrapolated to 20 epochs/task: {f['extrapolated_20_epochs_s'] / 60:.1f} min")
    dev = re.sub(r'[^A-Za-z0-9._-]+', '_', res['device']).strip('_') or device.type
    out = Path(args.out or Path(__file__).parent / 'results' / f"{res['date']}_{dev}_{args.models}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    print(f'results: {out}')
    return res


if __name__ == '__main__':
    main()
