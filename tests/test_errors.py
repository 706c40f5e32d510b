"Bad input gives one clear error from `cdl_run`: exit code 2, a message that says what to do, no traceback."
import contextlib, io, os, subprocess
import pytest
from conftest import cli, TINY, SYN
from cdl.cli import run
from cdl.config import ConfigError


def _sets(d):
    "--set arguments for a dict of overrides."
    import yaml
    return [a for k, v in d.items() for a in ('--set', f'{k}={yaml.safe_dump(v, default_flow_style=True).strip()}'.replace('\n...', ''))]


def _fails(args, *needles, process=False):
    """`cdl_run args` exits with status 2 and one message holding `needles`, without a traceback: in this process
    (`cdl_run`'s own parser and function, no interpreter start-up), or as a real `cdl_run` process (`process=True`)."""
    if process:
        p = subprocess.run(cli(*args), capture_output=True, text=True, timeout=300)
        code, err = p.returncode, p.stderr
    else:
        from fastcore.script import anno_parser
        from cdl.cli import cdl_run, _underscore_option
        buf = io.StringIO()
        with contextlib.redirect_stderr(buf), pytest.raises(SystemExit) as e:
            kw = vars(anno_parser(cdl_run.__wrapped__).parse_args([_underscore_option(a) for a in args]))
            for k in ('pdb', 'xtra'):
                kw.pop(k, None)
            cdl_run(**kw)
        code, err = e.value.code, buf.getvalue()
    assert code == 2, (code, err)
    assert 'Traceback' not in err, err
    for n in needles: assert n in err, err
    return err


def test_unknown_distiller(tmp_path):
    _fails(['demo', '--set', 'distiller=Hinton', '--output_dir', str(tmp_path / 'r')], "distiller='Hinton' is not one of", 'KD_Token',
           process=True)  # one real process: the console script's exit status and stderr


def test_unknown_learner_and_field(tmp_path):
    _fails(['demo', '--set', 'learner=EWC', '--output_dir', str(tmp_path / 'r')], "learner='EWC'", 'CODAPrompt', 'ZSCL')
    # a CLIP method (LwF is one) on the demo's ViTs: the fields that do not fit are named
    _fails(['demo', '--set', 'learner=LwF', '--output_dir', str(tmp_path / 'r')], "distiller='KD_Token' does not apply to CLIP")
    _fails(['demo', '--set', 'epoch=2'], "did you mean 'epochs'")


def test_student_wider_than_teacher(data_root, tmp_path):
    over = dict(TINY, teacher=TINY['student'], student=TINY['teacher'], distiller='FitNets',
                root=str(data_root), synthetic=SYN, n_tasks=2)
    _fails(['demo', *_sets(over), '--output_dir', str(tmp_path / 'r')], 'at least as wide as the student')


def test_missing_dataset(tmp_path):
    _fails(['demo', '--set', 'dataset=cifar100', '--set', f'root={tmp_path}/nowhere', '--output_dir', str(tmp_path / 'r')],
           'cifar-100-python', 'download')


def test_unwritable_output_dir(data_root, tmp_path):
    blocker = tmp_path / 'file'; blocker.write_text('x')
    with pytest.raises(ConfigError, match='not writable'):
        run('demo', **TINY, root=str(data_root), synthetic=SYN, n_tasks=2, output_dir=str(blocker / 'run'))


def test_resume_with_different_config(tiny_cfg):
    run('demo', **tiny_cfg)
    with pytest.raises(ConfigError, match=r'config differs in .*lr'):
        run('demo', **{**tiny_cfg, 'lr': 0.5, 'resume': True})
    with pytest.raises(ConfigError, match='already holds a run'):
        run('demo', **tiny_cfg)


def test_list_presets():
    for flag in ('--list-presets', '--list_presets'):
        p = subprocess.run(cli(flag), capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        names = [l.split()[0] for l in p.stdout.splitlines()]
        assert len(names) == 1 + 112 + 36 + 8 + 1 + 20 + 12 and 'demo' in names and 'imr-apt-reviewkd-vitl-vitb' in names
        assert 'cifar100-codap-deit-vitb-vits' in names and 'v1-imr-l2p-prompt_map-vitb-vitt' in names
        assert 'hide-cub200-kd_token-vitb-vits' in names
        assert {'zscl-demo', 'zscl-mtil2-lwf', 'zscl-cil-cifar100-50-zeroshot'} <= set(names)
        assert {'official-cifar100_l2p-kd_token-vitb-vits', 'official-imr_dualprompt-none-vitb-vits'} <= set(names)


def test_list_datasets():
    "`cdl_run --list-datasets` names every registered benchmark with its scenario, tasks x classes and on-disk layout."
    from cdl.config import datasets  # the registry as a run sees it (every module that registers loaders imported)
    p = subprocess.run(cli('--list-datasets'), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    listed = [l.split()[0] for l in p.stdout.splitlines() if l and not l.startswith(' ')]
    assert listed == list(datasets) and {'cifar100', 'imagenet_r'} <= set(listed)
    assert 'cifar-100-python' in p.stdout and 'class-incremental' in p.stdout
