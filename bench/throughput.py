"""Throughput benchmark of cdl: teacher training, student training and evaluation, plus the wall time of a full run.

The configuration is the one the authors' code was measured with: ViT-B/16 teacher -> ViT-S/16 student (randomly
initialised), CODA-Prompt (100 components, length 8), D-CDL (12 layers, length 6), synthetic CIFAR-format data.
For each phase it prints img/s end to end (on-device augmentation included) and with the batch already on the device,
achieved TFLOP/s (counted with torch's FlopCounterMode), MFU against a measured bf16 matmul peak, and peak memory.

    python bench/throughput.py                      # on a GPU: batch 64 and the --batches list, full-run estimate
    python bench/throughput.py --tiny --steps 3     # a CPU smoke run with tiny models (what the test suite runs)

Results go to bench/results/<date>_<device>.json (or --out).
"""
import argparse, datetime, json, math, platform, sys, tempfile, time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

import cdl
from cdl.config import RunConfig
from cdl.trainer import ContinualTrainer, Phase

PAPER = dict(teacher='vit_base_patch16_224', student='vit_small_patch16_224', kd_prompt_param=[12, 6],
             synthetic=dict(fmt='cifar100', n_classes=100, n_train=500, n_test=100, img_size=32, seed=0))
TINY = dict(teacher='vit_cdl_test_teacher', student='vit_cdl_test_student', kd_prompt_param=[5, 6],
            synthetic=dict(fmt='cifar100', n_classes=10, n_train=20, n_test=10, img_size=32, seed=0))
AUTHORS = dict(teacher_train=279, teacher_train_on_device=309, student_train=324, student_train_on_device=358, eval=510, peak_gib=10.4)


def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize(device)


def matmul_peak(device, dtype, n=8192, iters=30):
    "Measured dense matmul throughput (TFLOP/s) of `device` in `dtype`."
    if device.type != 'cuda': n, iters = 1024, 5
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3): a @ b
    sync(device); t0 = time.perf_counter()
    for _ in range(iters): a @ b
    sync(device)
    return 2 * n ** 3 * iters / (time.perf_counter() - t0) / 1e12


def make_trainer(args, batch, root, out):
    "A trainer with the benchmark's configuration (task 0 of 10 is the one trained)."
    cfg = RunConfig.from_dict({**(TINY if args.tiny else PAPER), 'dataset': 'synthetic', 'root': str(root), 'pretrained': False,
                               'learner': 'CODAPrompt', 'distiller': 'KD_Token', 'n_tasks': 10, 'batch_size': batch,
                               'eval_batch_size': args.eval_batch, 'epochs': args.run_epochs, 'device': args.device,
                               'precision': args.precision, 'compile': args.compile, 'progress': False, 'output_dir': str(out)})
    return ContinualTrainer(cfg)


def phase_of(tr, role):
    "The phase of the default schedule that trains `role`."
    return {'teacher': Phase('teacher', 'none'), 'student': Phase('student', tr.cfg.distiller, reads=('teacher',))}[role]


def time_steps(tr, role, batches, steps, warmup):
    "Seconds per step of `role` on the batches yielded by `batches()` (an endless iterator)."
    phase = phase_of(tr, role)
    params, opt = tr.optimizer(phase)
    start, end = tr.split.task_range(0)
    it = batches()
    for _ in range(warmup): tr.train_step(phase, opt, params, *next(it)[:2], start, end)
    sync(tr.device); t0 = time.perf_counter()
    for _ in range(steps): tr.train_step(phase, opt, params, *next(it)[:2], start, end)
    sync(tr.device)
    return (time.perf_counter() - t0) / steps


def step_flops(tr, role, x, y):
    "FLOPs of one training step of `role` (forward, backward; counted, not estimated)."
    phase = phase_of(tr, role)
    params, opt = tr.optimizer(phase)
    start, end = tr.split.task_range(0)
    with FlopCounterMode(display=False) as fc: tr.train_step(phase, opt, params, x, y, start, end)
    return fc.get_total_flops()


def bench_batch(tr, args, batch, peak):
    "Numbers of the three phases at one batch size."
    dev, out = tr.device, {}
    idx = torch.nonzero(tr.data.train_y < tr.split.task_range(0)[1]).flatten()
    g = torch.Generator().manual_seed(0)
    def endless():
        while True: yield from tr.batches(True, idx, batch, g)  # the trainer's own on-device batches
    x, y, _ = next(endless())
    def fixed():
        while True: yield x, y, len(x)
    for role in ('teacher', 'student'):
        if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats(dev)
        e2e = time_steps(tr, role, endless, args.steps, args.warmup)
        on_dev = time_steps(tr, role, fixed, args.steps, args.warmup)
        flops = step_flops(tr, role, x, y)
        mem = torch.cuda.max_memory_allocated(dev) / 2**30 if dev.type == 'cuda' else float('nan')
        out[f'{role}_train'] = dict(img_s=batch / e2e, img_s_on_device=batch / on_dev, gflop_per_img=flops / batch / 1e9,
                                    tflops=flops / on_dev / 1e12, mfu=flops / on_dev / 1e12 / peak, peak_gib=mem)
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats(dev)
    n_eval = len(tr.data.test_y)  # the last task sees every test image
    tr.evaluate(tr.n_tasks - 1)  # warm-up (and compilation)
    sync(dev); t0 = time.perf_counter(); tr.evaluate(tr.n_tasks - 1); sync(dev)
    dt = time.perf_counter() - t0
    out['eval'] = dict(img_s=n_eval / dt, peak_gib=torch.cuda.max_memory_allocated(dev) / 2**30 if dev.type == 'cuda' else float('nan'))
    return out


def full_run(args, root, batch):
    "Wall time of a whole 10-task D-CDL run with `args.run_epochs` epochs per task, and its extrapolation to 20 epochs."
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        tr = make_trainer(args, batch, root, Path(out) / 'run')
        setup = time.perf_counter() - t0
        train, evals, evaluate = 0., [0.], tr.evaluate
        def timed_evaluate(task):
            sync(tr.device); t = time.perf_counter()
            accs = evaluate(task)
            sync(tr.device); evals[0] += time.perf_counter() - t
            return accs
        tr.evaluate = timed_evaluate
        for task in range(tr.n_tasks):
            t = time.perf_counter()
            tr.metrics.update(task, tr.run_task(task))  # the schedule's stages and post-task steps, then the evaluation
            sync(tr.device); train += time.perf_counter() - t
        evals = evals[0]
        train -= evals
    return dict(epochs=args.run_epochs, setup_s=setup, train_s=train, eval_s=evals, total_s=setup + train + evals,
                extrapolated_20_epochs_s=setup + evals + train * 20 / args.run_epochs,
                student_final_avg_acc=tr.metrics.avg_acc('student')[-1])


def table(res):
    rows = ['| batch | phase | img/s (end to end) | img/s (batch on device) | GFLOP/img | TFLOP/s | MFU | peak GiB |', '|---|---|---|---|---|---|---|---|']
    for b, r in res['batches'].items():
        for ph in ('teacher_train', 'student_train'):
            p = r[ph]
            rows.append(f"| {b} | {ph} | {p['img_s']:.0f} | {p['img_s_on_device']:.0f} | {p['gflop_per_img']:.3g} | {p['tflops']:.3g} | {p['mfu'] * 100:.1f}% | {p['peak_gib']:.2f} |")
        rows.append(f"| {b} | eval (teacher + student) | {r['eval']['img_s']:.0f} | | | | | {r['eval']['peak_gib']:.2f} |")
    return '\n'.join(rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default='auto')
    p.add_argument('--precision', default='auto', choices=['auto', 'fp32', 'bf16'])
    p.add_argument('--compile', action=argparse.BooleanOptionalAction, default=True)
    p.add_argument('--batches', type=int, nargs='*', default=[64, 128, 256], help='batch sizes to measure (64 is the authors\')')
    p.add_argument('--eval_batch', type=int, default=512)
    p.add_argument('--steps', type=int, default=30); p.add_argument('--warmup', type=int, default=5)
    p.add_argument('--run_epochs', type=int, default=1, help='epochs per task of the measured full run (extrapolated to 20)')
    p.add_argument('--full_run', action=argparse.BooleanOptionalAction, default=True)
    p.add_argument('--tiny', action='store_true', help='tiny models on 32 px images (CPU smoke test)')
    p.add_argument('--root', default=None, help='where the synthetic CIFAR-format data is written (default: a temp dir)')
    p.add_argument('--out', default=None, help='JSON output path (default bench/results/<date>_<device>.json)')
    args = p.parse_args(argv)
    if args.tiny: args.compile = args.compile and '--compile' in (argv or sys.argv)
    tmp = tempfile.TemporaryDirectory(); root = Path(args.root or tmp.name)
    res = dict(date=datetime.date.today().isoformat(), cdl=cdl.__version__, torch=torch.__version__, python=platform.python_version(),
               args=vars(args), authors_h100=AUTHORS, batches={})
    tr = None
    for batch in args.batches:
        with tempfile.TemporaryDirectory() as out:
            tr = make_trainer(args, batch, root, out)
            if 'peak_tflops' not in res:
                dtype = torch.bfloat16 if tr.precision == 'bf16' else torch.float32
                res.update(device=torch.cuda.get_device_name(tr.device) if tr.device.type == 'cuda' else platform.processor() or 'cpu',
                           precision=tr.precision, peak_tflops=matmul_peak(tr.device, dtype))
            res['batches'][batch] = bench_batch(tr, args, batch, res['peak_tflops'])
            print(f"batch {batch}: " + ', '.join(f"{k} {v['img_s']:.0f} img/s" for k, v in res['batches'][batch].items()), flush=True)
        del tr
        if torch.cuda.is_available(): torch.cuda.empty_cache()
    if args.full_run:
        best = max(res['batches'], key=lambda b: res['batches'][b]['student_train']['img_s'])
        res['full_run'] = dict(batch=best, **full_run(args, root, best))
    print(f"\n{res['device']}, {res['precision']}, measured matmul peak {res['peak_tflops']:.0f} TFLOP/s, torch {res['torch']}\n")
    print(table(res))
    if 'full_run' in res:
        f = res['full_run']
        print(f"\nfull 10-task run, batch {f['batch']}, {f['epochs']} epoch(s)/task: {f['total_s']:.1f} s measured; "
              f"extrapolated to 20 epochs/task: {f['extrapolated_20_epochs_s'] / 60:.1f} min")
    dev = res['device'].replace(' ', '_').replace('/', '_') or 'cpu'
    out = Path(args.out or Path(__file__).parent / 'results' / f"{res['date']}_{dev}.json")
    out.parent.mkdir(parents=True, exist_ok=True); out.write_text(json.dumps(res, indent=1))
    print(f'results: {out}')
    return res


if __name__ == '__main__':
    main()
