"`cdl.peft` pools drive the frozen `PromptedViT` through `Prompts`: exact at init, per-sample selection, gradients."
import pytest
import torch
from cdl.vit import PromptedViT, Prompts
from cdl.peft import LoRAPool, AdapterPool

POOLS = {'lora': lambda d: LoRAPool(d, n_tasks=3, rank=4), 'adapter': lambda d: AdapterPool(d, n_tasks=3, rank=5)}
TRAINED = {'lora': ('k_b', 'v_b'), 'adapter': ('up', 'up_bias', 'down_bias')}  # the parts that start at zero


@pytest.fixture(scope='module')
def vit():
    torch.manual_seed(0)
    return PromptedViT('vit_cdl_test_student', pretrained=False)


@pytest.fixture(scope='module')
def images():
    return torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))


def perturbed(kind, dim):
    "A pool of `kind` whose zero-initialised parts are filled with small random numbers, different for every task."
    torch.manual_seed(2)
    pool = POOLS[kind](dim)
    with torch.no_grad():
        for name in TRAINED[kind]:
            for p in pool.pool[name]:
                p.normal_(std=0.3)
    return pool


@pytest.mark.parametrize('kind', list(POOLS))
def test_shapes_and_fields(kind, vit, images):
    pool = POOLS[kind](vit.embed_dim)
    assert pool.n_tasks == 3 and pool.layers == (0, 1, 2, 3, 4)
    shared, per_sample = pool.prompts(1), pool.prompts(torch.tensor([0, 2, 1, 1]))
    for p in (shared, per_sample):
        assert isinstance(p, Prompts) and sorted(getattr(p, kind)) == [0, 1, 2, 3, 4]
        assert not p.prefix and p.cls_kv is None and p.extra_token is None
        assert not (p.adapter if kind == 'lora' else p.lora)
    for a, b in zip(getattr(shared, kind)[0][:4], getattr(per_sample, kind)[0][:4]):  # A, B, ... or Wd, bd, Wu, bu
        assert b.shape == (4, *a.shape)
    with torch.no_grad():
        out, feats = vit(images, per_sample, return_features=True)
    assert out.shape == (4, vit.n_tokens, vit.embed_dim) and len(feats) == vit.depth


@pytest.mark.parametrize('kind', list(POOLS))
def test_fresh_pool_is_the_plain_forward(kind, vit, images):
    "B = 0 (LoRA) and a zero up-projection (adapter): the output is bit for bit the un-prompted one."
    pool = POOLS[kind](vit.embed_dim)
    with torch.no_grad():
        plain = vit(images)[0]
        assert torch.equal(vit(images, pool.prompts(2))[0], plain)
        assert torch.equal(vit(images, pool.prompts(torch.tensor([2, 0, 1, 0])))[0], plain)
        assert torch.equal(vit(images, pool.prompts(1, momentum=0.1))[0], plain)


@pytest.mark.parametrize('kind', list(POOLS))
def test_per_sample_selection_equals_running_samples_alone(kind, vit, images):
    pool = perturbed(kind, vit.embed_dim)
    ids = torch.tensor([2, 0, 1, 2])
    with torch.no_grad():
        batched = vit(images, pool.prompts(ids))[0]
        assert (batched - vit(images)[0]).abs().max() > 1e-2, 'the perturbed entries must change the output'
        for i, t in enumerate(ids.tolist()):
            alone = vit(images[i:i + 1], pool.prompts(t))[0]
            torch.testing.assert_close(batched[i:i + 1], alone, rtol=1e-5, atol=1e-5)
        others = vit(images, pool.prompts(0))[0]
        assert (batched[0] - others[0]).abs().max() > 1e-3, 'different tasks give different outputs'


@pytest.mark.parametrize('kind', list(POOLS))
@pytest.mark.parametrize('momentum', [0., 0.1])
def test_backward_reaches_only_the_trained_entry(kind, momentum, vit, images):
    pool = perturbed(kind, vit.embed_dim)
    out, _ = vit(images, pool.prompts(2, momentum=momentum))
    (out[:, 0] * torch.randn(vit.embed_dim, generator=torch.Generator().manual_seed(3))).sum().backward()
    grads = {n: p.grad for n, p in pool.named_parameters()}
    assert all(g is not None and g.abs().sum() > 0 for n, g in grads.items() if n.endswith('.2')), grads.keys()
    assert all(g is None for n, g in grads.items() if not n.endswith('.2'))
    assert not any(p.requires_grad or p.grad is not None for p in vit.parameters())


def test_momentum_and_task_transitions_change_the_forward(vit, images):
    "start_task copies the previous entry (same output), end_task with momentum stores the training mixture."
    pool = perturbed('lora', vit.embed_dim)
    with torch.no_grad():
        pool.start_task(1)
        torch.testing.assert_close(vit(images, pool.prompts(1))[0], vit(images, pool.prompts(0))[0], rtol=0, atol=0)
        mixed = vit(images, pool.prompts(2, momentum=0.3))[0]
        pool.end_task(2, momentum=0.3)
        torch.testing.assert_close(vit(images, pool.prompts(2))[0], mixed, rtol=1e-6, atol=1e-6)
