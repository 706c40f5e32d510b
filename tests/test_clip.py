"cdl.clip: the tiny CLIP end to end on CPU, reproducible weights, local checkpoints, and fast clear errors offline."
import signal, socket, time
from contextlib import contextmanager

import huggingface_hub.constants
import open_clip, pytest, torch
import torch.nn.functional as F
from open_clip import factory, pretrained

from cdl.clip import CLIPModel, cil_templates, load_clip, templates, train_templates, zero_shot_head, zero_shot_logits
from cdl.data import load_cifar100, make_synthetic
from cdl.mtil import MTIL_ORDER_I


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    "Every test runs without network: a connection attempt fails at once, and the Hugging Face hub is offline."
    def refuse(*args, **kwargs):
        raise OSError('network disabled in tests')
    for obj, attr in ((socket.socket, 'connect'), (socket, 'create_connection'), (socket, 'getaddrinfo')):
        monkeypatch.setattr(obj, attr, refuse)
    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_OFFLINE', True)
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')


@contextmanager
def deadline(seconds):
    "Fail (instead of hanging) when the block runs longer than `seconds`."
    def expired(*args):
        raise TimeoutError(f'took more than {seconds} s')
    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture
def tiny_open_clip(monkeypatch):
    "A tiny architecture registered in open_clip itself as 'tiny-oc', with a fake tag 'fake' (QuickGELU, unreachable)."
    cfg = dict(embed_dim=16, vision_cfg=dict(image_size=16, patch_size=8, width=16, layers=1, head_width=8),
               text_cfg=dict(context_length=12, vocab_size=49408, width=16, heads=2, layers=1))
    monkeypatch.setitem(factory._MODEL_CONFIGS, 'tiny-oc', cfg)
    tag = dict(hf_hub='nobody/tiny-oc/', quick_gelu=True, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    monkeypatch.setitem(pretrained._PRETRAINED, 'tiny-oc', {'fake': tag})
    return 'tiny-oc'


def test_tiny_end_to_end(tmp_path):
    "Synthetic CIFAR-100 files -> tokenize -> zero-shot head -> logits, in well under a second on CPU."
    _, test = load_cifar100(make_synthetic(tmp_path, 'cifar100', n_classes=6, n_train=1, n_test=3, img_size=32))
    start = time.perf_counter()
    clip = load_clip('cdl-tiny-clip', pretrained=None, seed=0)
    tokens = clip.tokenize([t.format(test.classes[0]) for t in templates['CIFAR100']])
    assert tokens.shape == (len(templates['CIFAR100']), 16) and tokens.dtype == torch.long
    head = zero_shot_head(clip, test.classes, templates['CIFAR100'], batch_size=7)
    with torch.no_grad():
        logits = zero_shot_logits(clip, test.images.float() / 255, head)
    assert head.shape == (6, 32) and logits.shape == (18, 6)
    torch.testing.assert_close(head.norm(dim=-1), torch.ones(6))
    feats = F.normalize(clip.encode_image(test.images.float() / 255), dim=-1)
    torch.testing.assert_close(logits, clip.logit_scale * feats @ head.T)
    assert time.perf_counter() - start < 2


def test_same_seed_same_weights():
    a, b = (load_clip('cdl-tiny-clip', pretrained=None, seed=3) for _ in range(2))
    c = load_clip('cdl-tiny-clip', pretrained=None, seed=4)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    torch.manual_seed(0)
    load_clip('cdl-tiny-clip', pretrained=None, seed=1)
    after = torch.rand(1)
    torch.manual_seed(0)
    assert torch.equal(after, torch.rand(1)), 'seed= must not move the global RNG'


def test_templates_cover_mtil():
    assert set(templates) == set(train_templates) == set(MTIL_ORDER_I)
    assert all(1 <= len(v) <= 6 and all(t.count('{}') == 1 for t in v) for v in templates.values())
    assert cil_templates == {'good': 'a good photo of a {}.', 'bad': 'a bad photo of a {}.'}


def test_openai_weights_offline_fail_fast(tmp_path):
    "Without network, OpenAI's ViT-B/16 fails quickly with one message that says what to do."
    start = time.perf_counter()
    with deadline(15), pytest.raises(RuntimeError, match="could not fetch the 'openai' weights.*checkpoint="):
        load_clip('ViT-B-16', pretrained='openai', cache_dir=tmp_path)
    assert time.perf_counter() - start < 10


def test_unknown_names():
    with pytest.raises(ValueError, match='close names: .*ViT-B-16'):
        load_clip('ViT-B-61')
    with pytest.raises(ValueError, match=r'\(it has: openai'):
        load_clip('ViT-B-16', pretrained='opneai')
    with pytest.raises(ValueError, match='pretrained=None'):
        load_clip('cdl-tiny-clip')


def test_open_clip_name_with_checkpoint(tiny_open_clip, tmp_path):
    "An open_clip name loads offline from a local checkpoint; the tag still sets QuickGELU and the pixel statistics."
    with deadline(15), pytest.raises(RuntimeError, match="could not fetch the 'fake' weights"):
        load_clip(tiny_open_clip, pretrained='fake', cache_dir=tmp_path)
    random = load_clip(tiny_open_clip, pretrained=None, seed=0)
    assert isinstance(random, CLIPModel) and random.image_size == 16
    torch.save({'state_dict': {f'module.{k}': v for k, v in random.model.state_dict().items()}}, tmp_path/'ft.pt')
    clip = load_clip(tiny_open_clip, pretrained='fake', checkpoint=tmp_path/'ft.pt', seed=1)
    assert all(torch.equal(v, random.model.state_dict()[k]) for k, v in clip.model.state_dict().items())
    assert type(clip.model.visual.transformer.resblocks[0].mlp.gelu).__name__ == 'QuickGELU'
    torch.testing.assert_close(clip.mean.flatten(), torch.full((3,), 0.5))
    x = torch.rand(2, 3, 16, 16)
    torch.testing.assert_close(clip.encode_image(x), clip.model.encode_image((x - 0.5) / 0.25))


def test_checkpoint_must_fit(tmp_path):
    small = load_clip('cdl-tiny-clip', pretrained=None, seed=0)
    sd = small.state_dict()
    sd.pop('model.text_projection')
    torch.save(sd, tmp_path/'broken.pt')
    with pytest.raises(ValueError, match='does not fit'):
        load_clip('cdl-tiny-clip', checkpoint=tmp_path/'broken.pt')
