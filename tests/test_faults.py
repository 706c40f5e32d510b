"""Faults a run must survive or refuse clearly: NaN and exploding losses, inputs that used to pass silently or end in
a traceback, unreadable images, CIFAR-100 without network, kills at random moments (resumed byte for byte), corrupt
checkpoints and leaked log files."""
import json, logging, os, random, signal, subprocess, sys, time, urllib.error, urllib.request
from pathlib import Path
from unittest import mock
import pytest
import torch
from conftest import cli, killed_in, TINY, SYN
from test_errors import _fails, _sets
from test_resume import _args
from cdl.cli import run, make_config
from cdl.config import ConfigError
from cdl.metrics import RunDir
from cdl.runtime import NonFiniteLoss, log
import cdl.benchmarks  # registers imagenet_r and its synthetic format
from cdl.benchmarks import load_imagenet_r
from cdl.data import FileSet, decode_image, load_cifar100, make_synthetic
from cdl.scenarios import make_split


@pytest.fixture(autouse=True)
def _info_log():
    "The `cdl` log at INFO, whatever level a notebook or an earlier test left it at (these tests read the run's log)."
    level = log.level
    log.setLevel(logging.INFO)
    yield
    log.setLevel(level)


def _files(out) -> dict:
    "{name: bytes} of a run folder's results (plots, log, TensorBoard and checkpoints aside), its own path neutral."
    out = Path(out)
    return {str(p.relative_to(out)): p.read_bytes().replace(str(out).encode(), b'<run>')
            for p in sorted(out.rglob('*')) if p.is_file() and p.suffix in ('.json', '.csv', '.yaml')}


def _fails_here(capsys, args, *needles):
    "`_fails` in this process (no interpreter start-up): `cdl_run`'s own parser, exit status 2, one clear message."
    from fastcore.script import anno_parser
    from cdl.cli import cdl_run, _underscore_option
    kw = vars(anno_parser(cdl_run.__wrapped__).parse_args([_underscore_option(a) for a in args]))
    for k in ('pdb', 'xtra'):
        kw.pop(k, None)
    with pytest.raises(SystemExit) as e:
        cdl_run(**kw)
    err = capsys.readouterr().err
    assert e.value.code == 2 and 'Traceback' not in err, err
    for n in needles:
        assert n in err, err
    return err


def _tiny(tiny_cfg, tmp_path, name, **kw):
    "A 3-task tiny run in `tmp_path/name` (CODA-P with a pool that splits over 3 tasks)."
    return dict(tiny_cfg, n_tasks=3, learner_kwargs=dict(pool=12), output_dir=str(tmp_path / name), **kw)


# ---------------------------------------------------------------- losses that go wrong

def test_nan_loss_stops_the_run_and_keeps_its_outputs(data_root, tmp_path):
    "A loss that turns NaN in task 2: exit status 2, one message naming task, model, epoch and step, task 1 kept."
    out = tmp_path / 'run'
    over = dict(TINY, root=str(data_root), synthetic=SYN, n_tasks=2, epochs=1, batch_size=8, max_batches=2,
                task_lr=[1e-3, 1e30])
    err = _fails(['demo', *_sets(over), '--output_dir', str(out)], 'became NaN or infinite in task 2/2',
                 "epoch 1/1, step", 'lr=1e+30 is very high', "nonfinite='skip'", process=True)
    assert len(err.strip().splitlines()) == 1
    rd = RunDir(out)
    assert json.loads(rd.metrics.read_text())['tasks_done'] == 1  # the metrics of task 1 stay as they were written
    assert len(rd.acc_csv('student').read_text().splitlines()) == 2 and rd.checkpoint(0).exists()
    assert not rd.checkpoint(1).exists()


def test_tiny_temperature_names_its_cause(tiny_cfg):
    with pytest.raises(NonFiniteLoss, match=r"student's loss \(KD_Token\) became NaN or infinite in task 1/2, "
                                            r"stage 'student', epoch 1/1, step 1;.*temperature=1e-40 is tiny"):
        run('demo', **tiny_cfg, temperature=1e-40)
    assert not RunDir(tiny_cfg['output_dir']).metrics.exists()


def test_nonfinite_skip_policy(tiny_cfg):
    "nonfinite='skip': steps with a NaN loss make no update, the run finishes and the log counts them."
    summary = run('demo', **tiny_cfg, temperature=1e-40, nonfinite='skip')
    assert summary['tasks_done'] == 2
    logged = RunDir(tiny_cfg['output_dir']).log.read_text()
    assert 'skipped 2 non-finite student steps' in logged, logged


def test_exploding_loss_is_flagged(tiny_cfg, monkeypatch):
    "A loss that grows a million times while finite is flagged in the epoch's line and as a warning."
    from cdl.trainer import ContinualTrainer
    step, calls = ContinualTrainer.train_step, []

    def growing(self, *args, **kw):
        calls.append(1)
        return step(self, *args, **kw) * (1 if len(calls) == 1 else 1e6)
    monkeypatch.setattr(ContinualTrainer, 'train_step', growing)
    run('demo', **{**tiny_cfg, 'n_tasks': 1, 'max_batches': 3})
    logged = RunDir(tiny_cfg['output_dir']).log.read_text()
    assert '| WARNING: teacher loss exploding (' in logged and 'the teacher loss is' in logged, logged


# ---------------------------------------------------------------- inputs that used to pass silently

@pytest.mark.parametrize('over, needle', [
    (dict(first_task=0), 'first_task must be a positive integer or None, got 0'),
    (dict(seed='1'), "seed must be an integer, got '1'"),
    (dict(class_order_seed='2'), "class_order_seed must be an integer or None, got '2'"),
    (dict(alpha='x'), "alpha must be a number, got 'x'"),
    (dict(temperature=[2]), 'temperature must be a number, got [2]'),
    (dict(epochs=True), 'epochs must be an integer, got True'),
    (dict(lr=float('inf')), 'lr must be a number, got inf (not finite)'),
    (dict(nonfinite='ignore'), "nonfinite='ignore' is not one of stop, skip"),
])
def test_values_are_type_checked(over, needle):
    with pytest.raises(ConfigError, match='invalid run configuration') as e:
        make_config('demo', **over)
    assert needle in str(e.value)


def test_coda_pool_must_split_over_tasks(tiny_cfg, tmp_path, capsys):
    tiny = _sets({k: v for k, v in tiny_cfg.items() if k != 'output_dir'})
    _fails_here(capsys, ['demo', *tiny, '--set', 'n_tasks=3', '--output_dir', str(tmp_path / 'r')],
                'pool=100 does not split evenly over 3 tasks', 'e.g. 99 or 102')


def test_uneven_tasks_refused_from_the_command_line(tiny_cfg, tmp_path, capsys):
    tiny = _sets({k: v for k, v in tiny_cfg.items() if k != 'output_dir'})
    _fails_here(capsys, ['demo', *tiny, '--set', 'n_tasks=4', '--output_dir', str(tmp_path / 'r')],
                '6 classes cannot be cut into 4 tasks', 'one of 1, 2, 3, 6')


# ---------------------------------------------------------------- tracebacks that became one clear line

def test_lr_that_overflows(tmp_path, capsys):
    _fails_here(capsys, ['demo', '--set', 'lr=1e400', '--output_dir', str(tmp_path / 'r')],
                'lr must be a number, got inf')


def test_unknown_timm_model_with_close_names(data_root, tmp_path, capsys):
    over = dict(TINY, root=str(data_root), synthetic=SYN, n_tasks=2, student='vit_smal_patch16_224')
    _fails_here(capsys, ['demo', *_sets(over), '--output_dir', str(tmp_path / 'r')],
                "unknown timm model 'vit_smal_patch16_224'",
           "did you mean 'vit_small_patch16_224'")
    # the demo's stand-in pretraining meets the name first
    _fails_here(capsys, ['demo', '--set', 'teacher=vit_cdl_tiny_teachr', f'root={tmp_path}/demo',
                         '--output_dir', str(tmp_path / 'd')],
           "unknown timm model 'vit_cdl_tiny_teachr'", "'vit_cdl_tiny_teacher'")


def test_malformed_yaml(tmp_path, capsys):
    bad = tmp_path / 'bad.yaml'
    bad.write_text('epochs: 2\nlearner_kwargs: {pool: [1, 2}\n')
    _fails_here(capsys, [str(bad)], f'config file {bad} is not valid YAML: line 2')
    _fails_here(capsys, ['demo', '--set', 'learner_kwargs={pool: [1,'],
                '--set learner_kwargs={pool: [1,: the value is neither')


def test_yaml_number_written_as_text(tmp_path):
    "YAML 1.1 reads `lr: 1e-5` as text; a float field takes it as the number it spells."
    cfg = tmp_path / 'c.yaml'
    cfg.write_text('lr: 1e-5\ntemperature: 2\n')
    assert make_config(cfg).lr == 1e-5


def _teacher_weights(tmp_path, name='vit_cdl_test_teacher'):
    import timm, cdl.vit  # noqa: F401 (registers the tiny ViTs)
    path = tmp_path / f'{name}.pth'
    torch.save(timm.create_model(name).state_dict(), path)
    return path


def test_corrupt_or_foreign_model_checkpoint(data_root, tmp_path, capsys):
    good = _teacher_weights(tmp_path)
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(good.read_bytes()[:2000])
    over = dict(TINY, root=str(data_root), synthetic=SYN, n_tasks=2)
    _fails_here(capsys, ['demo', *_sets(over), '--set', f'teacher.checkpoint={cut}',
                         '--output_dir', str(tmp_path / 'a')],
           f'checkpoint {cut} cannot be read', 'truncated, corrupt')
    foreign = _teacher_weights(tmp_path, 'vit_cdl_test_student')  # another architecture
    _fails_here(capsys, ['demo', *_sets(over), '--set', f'teacher.checkpoint={foreign}',
                         '--output_dir', str(tmp_path / 'b')],
           'tensors differ in shape', 'cls_token: checkpoint (1, 1, 32) vs model (1, 1, 48)')


def test_tensorboard_without_the_package():
    with mock.patch.dict(sys.modules, {'tensorboard': None}):
        with pytest.raises(ConfigError, match='pip install tensorboard'):
            make_config('demo', tensorboard=True)


def test_cdl_docs_without_notebooks(tmp_path):
    exe = Path(sys.executable).with_name('cdl_docs')
    p = subprocess.run([str(exe), '--nbs', str(tmp_path / 'nowhere'), '--dest', str(tmp_path / 'site')],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and 'Traceback' not in p.stderr, p.stderr
    assert "No notebook folder" in p.stderr and '--nbs' in p.stderr


def test_unknown_preset_gets_the_closest_names(capsys):
    err = _fails_here(capsys, ['cifar100-codap-kd-vitb-vit'], "did you mean 'cifar100-codap-kd-vitb-vits'",
                      '--list-presets')
    assert len(err) < 600, err  # a few close names, not all 190


def test_missing_cifar_names_flags_that_exist(tmp_path, capsys):
    err = _fails_here(capsys, ['demo', '--set', 'dataset=cifar100', '--set', f'root={tmp_path}/nowhere',
                  '--output_dir', str(tmp_path / 'r')], '--set download=true')
    assert '--download' not in err


def test_unreadable_image_stops_before_training(tmp_path):
    "A cut JPEG in an ImageNet-R tree: the run fails before training, naming the file; bad_images='skip' runs."
    root = make_synthetic(tmp_path / 'imr', 'imagenet_r', n_classes=4, n_train=4, n_test=2, img_size=16)
    cut = sorted((root / 'imagenet-r').rglob('*.jpg'))[3]
    cut.write_bytes(cut.read_bytes()[:cut.stat().st_size // 2])
    over = dict(TINY, dataset='imagenet_r', root=str(root), n_tasks=2, epochs=1, batch_size=4, max_batches=1,
                num_workers=0)
    with pytest.raises(ValueError, match=f"{cut.parent.name}/{cut.name}: truncated JPEG") as e:
        run('demo', **over, output_dir=str(tmp_path / 'a'))
    assert 'bad_images=skip' in str(e.value) and not RunDir(tmp_path / 'a').metrics.exists()
    assert run('demo', **over, bad_images='skip', output_dir=str(tmp_path / 'b'))['tasks_done'] == 2
    assert f"left out 1 unreadable images (bad_images='skip'): {cut}" in RunDir(tmp_path / 'b').log.read_text()


def test_resume_with_nothing_to_resume(tiny_cfg):
    run('demo', **tiny_cfg, resume=True)
    logged = RunDir(tiny_cfg['output_dir']).log.read_text()
    assert 'holds no checkpoint yet, so the run starts from the first task' in logged


# ---------------------------------------------------------------- resume, byte for byte

def test_random_kills_resume_byte_identical(data_root, tmp_path):
    """SIGKILL at seeded random moments (start-up, training, evaluation, checkpoint writes), resumed each time:
    every result file ends byte-identical to an uninterrupted run's. A kill lands a random time after a random
    number of new log lines (or during start-up), so where it lands does not depend on how fast this machine is."""
    full, killed = tmp_path / 'full', tmp_path / 'killed'
    subprocess.run(cli(*_args(data_root, full)), check=True, capture_output=True, timeout=600)
    n_lines, rng, kills = len(RunDir(full).log.read_text().splitlines()), random.Random(16), 0
    for attempt in range(3):
        p = subprocess.Popen(cli(*_args(data_root, killed), *(['--resume'] if attempt else [])),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        log_file, t0 = RunDir(killed).log, time.time()
        base = len(log_file.read_text().splitlines()) if log_file.exists() else 0  # the log is appended to
        after, delay, startup = rng.randrange(n_lines // 3), rng.uniform(0, 0.3), rng.random() < 0.2
        while not startup and p.poll() is None and time.time() - t0 < 300:  # 1 in 5: during start-up
            if (len(log_file.read_text().splitlines()) if log_file.exists() else 0) > base + after:
                break
            time.sleep(0.01)
        time.sleep(delay)
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            kills += 1
        p.wait()
    assert kills >= 2, 'the runs ended before they could be killed'
    subprocess.run(cli(*_args(data_root, killed), '--resume'), check=True, capture_output=True, timeout=600)
    a, b = _files(full), _files(killed)
    assert set(a) == {'config.yaml', 'split.json', 'metrics.json', 'avg_acc.csv', 'acc_teacher.csv', 'acc_student.csv'}
    assert a == b


def test_corrupt_checkpoint_at_resume(tiny_cfg, tmp_path, monkeypatch):
    "A cut-short last checkpoint: a clear error naming the one before; moved aside, the run resumes from there."
    full, cfg = _tiny(tiny_cfg, tmp_path, 'full'), _tiny(tiny_cfg, tmp_path, 'killed')
    run('demo', **full)
    with killed_in(monkeypatch, 2):
        run('demo', **cfg)
    rd = RunDir(cfg['output_dir'])
    last = rd.checkpoint(1)
    last.write_bytes(last.read_bytes()[:5000])
    with pytest.raises(ConfigError, match=r'cannot be read .*truncated or corrupt; to resume from the checkpoint '
                                          r'before it, task_00.pt, move the broken file aside \(mv '):
        run('demo', **cfg, resume=True)
    os.replace(last, f'{last}.corrupt')
    run('demo', **cfg, resume=True)
    assert _files(full['output_dir']) == _files(cfg['output_dir'])


def test_checkpoint_that_does_not_fit(tiny_cfg, tmp_path, monkeypatch):
    "A checkpoint whose tensors have other shapes than the config's models is refused, naming them."
    cfg = _tiny(tiny_cfg, tmp_path, 'run')
    with killed_in(monkeypatch, 1):
        run('demo', **cfg)
    path = RunDir(cfg['output_dir']).checkpoint(0)
    ck = torch.load(path, weights_only=False)
    key = next(k for k, v in ck['student'].items() if k.startswith('learner.') and isinstance(v, torch.Tensor))
    ck['student'][key] = torch.zeros(3, 3)
    torch.save(ck, path)
    with pytest.raises(ValueError, match=f'does not fit the student: 1 tensors differ in shape, {key}: '
                                          r'checkpoint \(3, 3\) vs model'):
        run('demo', **cfg, resume=True)


# ---------------------------------------------------------------- resources

def test_log_file_closed_after_a_run(tiny_cfg):
    "The run's log file is closed when it ends, also when it fails (no handle left for the collector)."
    run('demo', **tiny_cfg)
    assert not [h for h in log.handlers if isinstance(h, logging.FileHandler)]
    with pytest.raises(NonFiniteLoss):
        run('demo', **{**tiny_cfg, 'output_dir': tiny_cfg['output_dir'] + '2'}, temperature=1e-40)
    assert not [h for h in log.handlers if isinstance(h, logging.FileHandler)]


# ------------------------------------------------ bad data: unreadable images, no network, uneven splits

def _check_images():
    "`cdl.image_check.check_images` (imported here so that each test fails on its own when it is missing)."
    from cdl.image_check import check_images
    return check_images


@pytest.fixture
def broken_imr(tmp_path):
    "An ImageNet-R tree (4 classes of 7 images) with a cut JPEG, a text file named x.jpg and a cut PNG among them."
    root = make_synthetic(tmp_path / 'data', 'imagenet_r', n_classes=4, n_train=5, n_test=2, img_size=16)
    folder = root / 'imagenet-r'
    cut = sorted((folder / 'n90000001').glob('*.jpg'))[0]
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    (folder / 'n90000002' / 'x.jpg').write_text('<html>404 Not Found</html>')
    from PIL import Image
    png = folder / 'n90000003' / 'frame.png'
    Image.new('RGB', (40, 40), (200, 30, 30)).save(png)
    png.write_bytes(png.read_bytes()[:60])
    train, test = load_imagenet_r(root, split='jax')  # per class: the first 80% of sorted names train, the rest test
    return root, folder, train, test, cut


def _all(train, test):
    "One `FileSet` of both splits (they share root and classes)."
    import torch
    return FileSet(train.root, train.paths + test.paths, torch.cat([train.targets, test.targets]), train.classes)


def test_check_images_names_every_bad_file(broken_imr):
    "Policy 'error' (the default): one ValueError naming each bad file with its reason and saying what to do."
    _, folder, train, test, cut = broken_imr
    fs = _all(train, test)
    with pytest.raises(ValueError) as e:
        _check_images()(fs)
    msg = str(e.value)
    assert f'3 of {len(fs)} images under {folder} cannot be read' in msg, msg
    assert f'n90000001/{cut.name}: truncated JPEG' in msg and 'n90000002/x.jpg: not an image' in msg, msg
    assert 'n90000003/frame.png: truncated PNG' in msg or 'n90000003/frame.png: broken header' in msg, msg
    assert 'Fix or remove these files' in msg and "policy='skip'" in msg and '--set bad_images=skip' in msg, msg


class _Lines(logging.Handler):
    "The messages of the `cdl` log (which does not propagate to pytest's capture once a run opened it)."
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []
    def emit(self, record):
        self.records.append(record)


def test_check_images_skip_leaves_bad_files_out(broken_imr):
    "Policy 'skip': the FileSet without them, and one warning line naming them."
    _, folder, train, test, cut = broken_imr
    fs, caplog = _all(train, test), _Lines()
    logging.getLogger('cdl').addHandler(caplog)
    try:
        kept = _check_images()(fs, policy='skip')
    finally:
        logging.getLogger('cdl').removeHandler(caplog)
    assert len(kept) == len(fs) - 3 and cut not in kept.paths and kept.classes == fs.classes
    assert set(fs.paths) - set(kept.paths) == {cut, folder / 'n90000002' / 'x.jpg', folder / 'n90000003' / 'frame.png'}
    lines = [r.getMessage() for r in caplog.records if r.name == 'cdl']
    assert len(lines) == 1 and lines[0].startswith(f'skipped 3 unreadable images of {len(fs)} under {folder}: '), lines
    assert 'x.jpg' in lines[0] and cut.name in lines[0]


def test_check_images_skip_never_empties_a_class(broken_imr):
    "Skipping that would leave a class without images is refused: that would silently change the benchmark."
    _, _, train, test, _ = broken_imr
    keep = [i for i, p in enumerate(test.paths) if p.parent.name != 'n90000002' or p.name == 'x.jpg']
    test = test.subset(keep)  # class n90000002's only test image is x.jpg
    assert (test.targets == 2).sum() == 1
    with pytest.raises(ValueError, match=r"every image of the classes \['n90000002'\]"):
        _check_images()(test, policy='skip')


def test_check_images_clean_and_unknown_policy(tmp_path):
    "A readable dataset comes back unchanged; an unknown policy is refused with the valid ones."
    root = make_synthetic(tmp_path / 'data', 'imagenet_r', n_classes=2, n_train=2, n_test=1, img_size=8)
    train, _ = load_imagenet_r(root)
    assert _check_images()(train) is train
    with pytest.raises(ValueError, match="unknown policy 'ignore' for unreadable images; choose one of 'error', 'skip'"):
        _check_images()(train, policy='ignore')


def test_check_images_cache(broken_imr, monkeypatch):
    "The result is cached next to the data: the second check stats the files but opens none; a changed file is rechecked."
    import cdl.data
    _, folder, train, test, cut = broken_imr
    check_images = _check_images()
    with pytest.raises(ValueError, match='cannot be read'):
        check_images(train)
    assert len(list(folder.glob('.cdl_image_check_*.json'))) == 1
    opened = []
    real_open = cdl.data.Image.open
    monkeypatch.setattr(cdl.data.Image, 'open', lambda *a, **k: opened.append(a) or real_open(*a, **k))
    with pytest.raises(ValueError, match=cut.name):
        check_images(train)
    assert opened == []  # answered from the cache
    good = next(p for p in train.paths if p.parent.name == 'n90000000')
    cut.write_bytes(good.read_bytes())  # repaired: its size and mtime change
    os.utime(cut, ns=(time.time_ns(), time.time_ns() + 10**9))
    with pytest.raises(ValueError) as e:
        check_images(train)
    assert opened and cut.name not in str(e.value) and 'frame.png' in str(e.value)  # checked again: one bad file left


def test_check_images_cache_elsewhere(broken_imr, tmp_path, monkeypatch):
    "With `cache_dir` the cache goes there; when the data's folder cannot hold it, under ~/.cache/cdl (XDG_CACHE_HOME)."
    _, folder, train, _, _ = broken_imr
    check_images = _check_images()
    with pytest.raises(ValueError):
        check_images(train, cache_dir=tmp_path / 'cc')
    assert len(list((tmp_path / 'cc').glob('*.json'))) == 1 and not list(folder.glob('.cdl_image_check_*'))
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    elsewhere = FileSet(tmp_path / 'not_a_folder', train.paths, train.targets, train.classes)
    with pytest.raises(ValueError):
        check_images(elsewhere)
    assert len(list((tmp_path / 'xdg' / 'cdl' / 'image_checks').glob('*.json'))) == 1


def test_decoding_names_the_file(broken_imr):
    "A file that fails to decode later (PIL pipeline, tensor store) raises a ValueError naming it, not PIL's error."
    _, _, train, test, cut = broken_imr
    i = train.paths.index(cut)
    with pytest.raises(ValueError, match=f'cannot read image {cut}: '):
        train.pil(i)
    with pytest.raises(ValueError, match=f'cannot read image {cut}: '):
        decode_image(cut, 16)
    x = next(p for p in test.paths if p.name == 'x.jpg')
    with pytest.raises(ValueError, match=f'cannot read image {x}: not an image'):
        test.to_imageset(16)


def test_cifar100_download_without_network(tmp_path, monkeypatch):
    "No network: one FileNotFoundError that says where to put the folder and which archive to fetch (no URLError)."
    def no_network(*args, **kwargs):
        raise urllib.error.URLError('[Errno -3] Temporary failure in name resolution')
    monkeypatch.setattr(urllib.request, 'urlopen', no_network)  # what torchvision's download calls
    with pytest.raises(FileNotFoundError) as e:
        load_cifar100(tmp_path / 'cifar', download=True)
    msg = str(e.value)
    assert msg.startswith(f'could not download CIFAR-100 into {tmp_path / "cifar"} (URLError: '), msg
    assert 'https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz' in msg and '`cifar-100-python` folder' in msg


def test_cifar100_download_other_failure(tmp_path, monkeypatch):
    "A failure inside torchvision's CIFAR100 (socket timeout, corrupt archive) is reported the same way."
    import torchvision
    def broken(root, train=True, download=False):
        raise TimeoutError('timed out')
    monkeypatch.setattr(torchvision.datasets, 'CIFAR100', broken)
    with pytest.raises(FileNotFoundError, match=r'could not download CIFAR-100 .*\(TimeoutError: timed out\)'):
        load_cifar100(tmp_path, download=True)


def test_missing_cifar100_names_real_options(tmp_path):
    "The missing-data message gives the command-line spelling that exists (`--set download=true`), not `--download`."
    with pytest.raises(FileNotFoundError) as e:
        load_cifar100(tmp_path / 'nowhere')
    msg = str(e.value)
    assert '--download' not in msg and '--set download=true' in msg, msg
    assert 'download' in msg and 'cifar-100-python' in msg


def test_first_task_zero_refused():
    "first_task=0 is not 'the default': it is refused, as are non-positive numbers of tasks."
    with pytest.raises(ValueError, match='first_task must be a positive number of classes or None'):
        make_split('class-incremental', 100, 10, first_task=0)
    with pytest.raises(ValueError, match='first_task must be a positive number of classes or None'):
        make_split('class-incremental', 100, 10, first_task=-10)
    with pytest.raises(ValueError, match='n_tasks must be a positive number of tasks, got 0'):
        make_split('class-incremental', 100, 0)


def test_uneven_tasks_say_what_works():
    "100 classes in 7 tasks: the message lists the n_tasks that divide 100 and a first_task that makes 7 tasks."
    with pytest.raises(ValueError) as e:
        make_split('class-incremental', 100, 7)
    msg = str(e.value)
    assert '1, 2, 4, 5, 10, 20, 25, 50, 100' in msg and 'first_task=16 gives 16 + 6 x 14 classes' in msg, msg
    assert make_split('class-incremental', 100, 7, first_task=16).sizes == [16] + [14] * 6  # the advice works
    with pytest.raises(ValueError) as e:
        make_split('class-incremental', 100, 7, first_task=20)
    msg = str(e.value)
    assert 'with first_task=20 choose n_tasks among 2, 3, 5, 6, 9, 11' in msg and 'choose first_task among 4, 10, 16' in msg
    assert make_split('class-incremental', 100, 5, first_task=20).sizes == [20] * 5


def test_first_task_not_silently_ignored():
    "Benchmarks whose tasks are fixed by their data refuse a first_task instead of dropping it."
    import torch
    with pytest.raises(ValueError, match='takes no first_task'):
        make_split('class-incremental', 6, 2, task_sizes=[2, 4], first_task=2)
    with pytest.raises(ValueError, match='takes no first_task'):
        make_split('domain-incremental', 3, 3, train_task=torch.tensor([0, 1, 2]), first_task=1)
    with pytest.raises(ValueError, match='takes no first_task'):
        make_split('task-agnostic', 10, 2, steps_per_task=5, first_task=4)
    with pytest.raises(ValueError, match='n_tasks must be a positive number of evaluation points'):
        make_split('task-agnostic', 10, 0, steps_per_task=5)
