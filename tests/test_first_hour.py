"What a new user meets first on the command line and in a run folder: `cdl_run --help`, `--tensorboard`, the plots."
import sys
from pathlib import Path
import pytest
from cdl.cli import cdl_run, cdl_run_cli
from cdl.config import config_fields
from cdl.metrics import RunDir


def test_help_lists_every_field_by_group(capsys, monkeypatch):
    monkeypatch.setattr(sys, 'argv', ['cdl_run', '--help'])
    with pytest.raises(SystemExit) as e:
        cdl_run_cli()
    out = capsys.readouterr().out
    assert e.value.code == 0
    for group in ('data:', 'models:', 'learner:', 'distillation:', 'optimisation:', 'runtime:'):
        assert f'\n  {group}\n' in out, out
    for _, name, default, _ in config_fields():
        assert f'    {name} = {default!r}' in out, name
    assert "    nonfinite = 'stop'" in out and 'the run with an error' in out
    assert '--tensorboard' in out


def test_tensorboard_flag_and_few_charts(tiny_cfg):
    "`--tensorboard` writes TensorBoard's files; a run is eight charts whatever its number of tasks."
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    sets = [f'{k}={v}' for k, v in dict(n_tasks=2, epochs=1, max_batches=2, batch_size=8, progress=False).items()]
    sets += ['teacher=vit_cdl_test_teacher', 'student=vit_cdl_test_student', 'pretrained=false', 'device=cpu',
             f"root={tiny_cfg['root']}", 'synthetic={fmt: cifar100, n_classes: 6, n_train: 16, n_test: 8, img_size: 32}',
             'kd_prompt_param=[5, 6]']
    cdl_run('demo', set=sets, output_dir=tiny_cfg['output_dir'], tensorboard=True)
    tb = RunDir(tiny_cfg['output_dir']).tensorboard
    lines = sorted(p.name for p in tb.iterdir() if p.is_dir())  # one folder per line of a chart
    charts = {EventAccumulator(str(tb / n)).Reload().Tags()['scalars'][0] for n in lines}
    assert charts == {'loss/teacher', 'loss/student', 'lr/teacher', 'lr/student', 'acc/teacher', 'acc/student',
                      'avg_acc', 'forgetting'}, charts
    assert 'loss_student_task1' in lines and 'avg_acc_student' in lines


def test_plots_are_titled_with_the_run(tiny_cfg, monkeypatch):
    "The run's plots name learner, distiller and models; the average-accuracy curve has whole tasks on its axis."
    import cdl.trainer
    from cdl.cli import run
    from cdl.metrics import plot_avg_acc, save_plots
    titles = []

    def saving(metrics, folder, title=None):
        titles.append(title)
        ticks = plot_avg_acc(metrics, title).axes[0].get_xticks()
        assert all(float(t).is_integer() for t in ticks), ticks
        return save_plots(metrics, folder, title)
    monkeypatch.setattr(cdl.trainer, 'save_plots', saving)
    run('demo', **tiny_cfg)
    assert titles == ['CODAPrompt + KD_Token: vit_cdl_test_teacher -> vit_cdl_test_student'] * 2
    assert RunDir(tiny_cfg['output_dir']).plot('avg_acc').exists()
