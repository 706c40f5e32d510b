"Test helpers: a run folder as the trainer leaves it and an experiment notebook that writes one, both without training."
import json
from pathlib import Path

import nbformat
from cdl.config import RunConfig
from cdl.metrics import RunDir


def fake_run(folder, n_tasks=2, done=2, acc=(0.8, 0.6), forgetting=(0.1, 0.2), report=False, **cfg):
    "Write a run folder as the trainer leaves it after `done` tasks (final accuracies `acc`, teacher and student); returns its path."
    rd = RunDir(folder)
    rd.checkpoints.mkdir(parents=True, exist_ok=True)
    RunConfig.from_dict({**dict(n_tasks=n_tasks, output_dir=str(rd.path)), **cfg}).save(rd.config)

    def role(a, f):
        matrix = [[a] * (t + 1) + [None] * (n_tasks - t - 1) for t in range(done)]
        return dict(acc_matrix=matrix, avg_acc=[a] * done, final_avg_acc=a, forgetting=f, forgetting_authors=f / 2)

    summary = dict(n_tasks=n_tasks, tasks_done=done, teacher=role(acc[0], forgetting[0]), student=role(acc[1], forgetting[1]))
    rd.metrics.write_text(json.dumps(summary))
    for t in range(done):
        rd.checkpoint(t).touch()
    if report:
        rd.report.write_text('model,final_avg_acc\n')
    return rd.path


_FAKE_EXPERIMENT = """import json, yaml
from cdl.metrics import RunDir
configs = json.loads(CONFIGS)
assert seed != 1, 'seed 1 fails'
rd, cfg = RunDir(output_dir), configs[str(seed)]
rd.config.write_text(yaml.safe_dump(cfg))
role = dict(final_avg_acc=0.5 + seed / 10, forgetting=0.1, forgetting_authors=0.05)
rd.metrics.write_text(json.dumps(dict(tasks_done=cfg['n_tasks'], teacher=role, student=role)))
rd.report.write_text('model\\n')"""


def fake_notebook(path, configs):
    "A notebook with the experiment's parameters that writes the finished run of `configs[seed]` without training (fails for seed 1)."
    nb = nbformat.v4.new_notebook(metadata=dict(kernelspec=dict(name='python3', language='python', display_name='Python 3')))
    params = nbformat.v4.new_code_cell("preset, seed, output_dir, overrides = 'demo', 0, None, '{}'")
    params.metadata['tags'] = ['parameters']
    body = _FAKE_EXPERIMENT.replace('CONFIGS', json.dumps(json.dumps(configs)))
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)
    return Path(path)
