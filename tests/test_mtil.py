"MTIL (ZSCL's 11 datasets): every member read from its real on-disk format, both orders, the combined set, clear errors."
import json, shutil
from pathlib import Path

import pytest, torch
from PIL import Image

import cdl.mtil as mtil
from cdl.data import ImageSet, datasets, decode_image, get_dataset, make_synthetic
from cdl.mtil import MTIL_ORDER_I, MTIL_ORDER_II, ConcatSet, load_mtil, load_mtil_order2, members, mtil_classnames

SYN = dict(n_classes=3, n_train=4, n_test=2, img_size=16, seed=0)
# member: (classes, training samples, test samples, readable name of its first class) on the synthetic root
EXPECTED = {
    'Aircraft': (3, 12, 6, '707-320'), 'Caltech101': (3, 15, 3, 'centered face'), 'CIFAR100': (3, 12, 6, 'apple'),
    'DTD': (3, 12, 6, 'banded'), 'EuroSAT': (3, 15, 3, 'annual crop land'), 'Flowers': (3, 12, 6, 'pink primrose'),
    'Food': (3, 12, 6, 'apple pie'), 'MNIST': (10, 40, 20, '0'), 'OxfordPet': (3, 12, 6, 'Abyssinian'),
    'StanfordCars': (3, 12, 6, 'AM General Hummer SUV 2000'), 'SUN397': (3, 15, 3, 'abbey'),
}


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    "The 11 synthetic members, written once in their real formats."
    return make_synthetic(tmp_path_factory.mktemp('mtil'), 'mtil', **SYN)


def own_class(member, sid, names):
    "The class (0-based, within `member`) that the synthetic writer gave the sample named `sid`."
    rel = sid.split('/', 1)[1]
    if member in ('CIFAR100', 'MNIST'):  # written class after class, `n` images each
        split, i = rel.split('/')
        return int(i) // (SYN['n_train'] if split == 'train' else SYN['n_test'])
    number = int(Path(rel).stem.split('_')[-1]) if member in ('Aircraft', 'Flowers', 'StanfordCars') else None
    if member == 'Aircraft':
        return (number - 1000000) // 1000
    if member == 'Flowers':
        return (number - 1) // (SYN['n_train'] + SYN['n_test'])
    if member == 'StanfordCars':
        return (number - 1) // 100
    folder = {'Caltech101': 1, 'DTD': 2, 'EuroSAT': 1, 'Food': 1}.get(member)
    raw = mtil._examples[member][:len(names)]
    if member == 'OxfordPet':
        return raw.index(Path(rel).stem.rsplit('_', 1)[0])
    if member == 'SUN397':
        return raw.index('/' + str(Path(rel).parent))
    return raw.index(Path(rel).parts[folder])


def test_synthetic_layouts(root):
    "Each member's folder holds what torchvision's class reads, and make_synthetic is idempotent."
    for key, (folder, need, *_) in members.items():
        assert not mtil._missing(root, key), key
    assert (root/'caltech101'/'101_ObjectCategories'/'BACKGROUND_Google').is_dir()
    assert (root/'food-101'/'meta'/'classes.txt').read_text().split() == ['apple_pie', 'baby_back_ribs', 'baklava']
    assert make_synthetic(root, 'mtil', **SYN) == root


@pytest.mark.parametrize('member', MTIL_ORDER_I)
def test_member_loads(root, member):
    "Each member alone: its class count, sample counts, readable names, and labels that match the written classes."
    n, n_train, n_test, first = EXPECTED[member]
    train, test, stream = load_mtil(root, members=[member])
    assert stream == {'task_sizes': [n], 'task_names': [member]}
    assert (len(train), len(test), len(train.classes), train.classes[0]) == (n_train, n_test, n, first)
    assert all(' ' in c or '_' not in c for c in train.classes), train.classes
    for ds in (train, test):
        assert isinstance(ds, ConcatSet) and ds.targets.dtype == torch.int64
        ids = ds.sample_ids()
        assert all(s.startswith(member + '/') for s in ids)
        assert [own_class(member, s, train.classes) for s in ids] == ds.targets.tolist()
    assert train.targets.bincount().tolist() == [n_train // n] * n
    assert not set(train.sample_ids()) & set(test.sample_ids())


def test_orders_offset_each_member(root):
    "Both orders hold the same samples; each member's labels are its own labels plus the classes before it."
    total = sum(EXPECTED[k][0] for k in MTIL_ORDER_I)
    for order, loader in ((MTIL_ORDER_I, load_mtil), (MTIL_ORDER_II, load_mtil_order2)):
        train, test, stream = loader(root)
        assert stream['task_names'] == list(order) and stream['task_sizes'] == [EXPECTED[k][0] for k in order]
        assert len(train.classes) == total and int(train.targets.max()) == total - 1
        offset = 0
        for key in order:
            alone = load_mtil(root, members=[key])[1]
            mask = torch.tensor([s.startswith(key + '/') for s in test.sample_ids()])
            assert test.subset(mask).sample_ids() == alone.sample_ids()
            assert torch.equal(test.targets[mask], alone.targets + offset)
            assert train.classes[offset:offset + EXPECTED[key][0]] == alone.classes
            offset += EXPECTED[key][0]
    first = load_mtil(root)[1]
    second = load_mtil_order2(root)[1]
    assert sorted(first.sample_ids()) == sorted(second.sample_ids())
    assert first.classes[0] == '707-320' and second.classes[0] == 'AM General Hummer SUV 2000'


def test_members_subset_keeps_the_order(root):
    train, test, stream = load_mtil_order2(root, members=['DTD', 'Food', 'MNIST'])
    assert stream == {'task_sizes': [3, 10, 3], 'task_names': ['Food', 'MNIST', 'DTD']}
    assert train.classes[:4] == ['apple pie', 'baby back ribs', 'baklava', '0'] and train.classes[-1] == 'braided'
    assert mtil_classnames(train, stream) == {'Food': ['apple pie', 'baby back ribs', 'baklava'],
                                              'MNIST': [str(d) for d in range(10)],
                                              'DTD': ['banded', 'blotchy', 'braided']}
    assert load_mtil(root, members='SUN397')[2]['task_names'] == ['SUN397']
    with pytest.raises(ValueError, match='choose among'):
        load_mtil(root, members=['Cars'])
    with pytest.raises(ValueError, match='each of the 11 members once'):
        load_mtil(root, order=MTIL_ORDER_I[:5])


def test_combined_set(root, tmp_path, monkeypatch):
    "`subset`, `pil`, `sample_ids` and `to_imageset` (with its cache) across file and array members."
    train, test, stream = load_mtil(root, members=['Food', 'MNIST', 'CIFAR100'])
    ids = test.sample_ids()
    assert ids[:1] + ids[6:7] + ids[12:13] == ['CIFAR100/test/0', 'Food/images/apple_pie/100004.jpg', 'MNIST/test/0']
    assert len(set(ids)) == len(ids)
    sub = test.subset(test.targets >= 6)  # MNIST
    assert isinstance(sub, ConcatSet) and len(sub) == 20 and sub.classes == test.classes
    assert sub.sample_ids() == [f'MNIST/test/{i}' for i in range(20)]
    assert test.subset(torch.tensor([7, 0])).sample_ids() == [ids[7], ids[0]]
    for i in (0, 6, 12):
        im = test.pil(i)
        assert isinstance(im, Image.Image) and im.mode == 'RGB'
    assert test.pil(0).size == (32, 32) and test.pil(12).size == (28, 28)
    cache = tmp_path/'cache'/'test.pt'
    ims = test.to_imageset(size=20, cache=cache)
    assert isinstance(ims, ImageSet) and ims.images.shape == (len(test), 3, 20, 20) and ims.images.dtype == torch.uint8
    assert torch.equal(ims.targets, test.targets) and ims.classes == test.classes
    assert torch.equal(ims.images[6], decode_image(test.stores[1].x[0], 20))
    assert torch.equal(ims.images[12, 0], ims.images[12, 1])  # grey MNIST: three equal channels
    assert cache.is_file()
    def no_decoding(self, j):
        raise AssertionError('decoded although the cache matches')
    monkeypatch.setattr(mtil._Store, 'pil', no_decoding)
    assert torch.equal(test.to_imageset(size=20, cache=cache).images, ims.images)
    with pytest.raises(AssertionError, match='decoded'):
        test.to_imageset(size=24, cache=cache)  # another size: another key, so it decodes


def test_split_is_seeded(root):
    "Caltech101, EuroSAT and SUN397 are split per class by `seed`; the official splits do not depend on it."
    keys = ['Caltech101', 'EuroSAT', 'SUN397', 'DTD']
    a, b, c = (load_mtil(root, members=keys, seed=s)[1].sample_ids() for s in (0, 0, 1))
    assert a == b and a != c
    assert [s for s in a if s.startswith('DTD/')] == [s for s in c if s.startswith('DTD/')]
    assert len(load_mtil(root, members=['EuroSAT'], test_frac=0.5)[1]) == 9
    with pytest.raises(ValueError, match='test_frac'):
        load_mtil(root, members=['EuroSAT'], test_frac=1.0)


def clear_error(exc, *fragments):
    "The error is ours: one FileNotFoundError or ValueError, with no torchvision exception chained to it."
    assert type(exc.value) in (FileNotFoundError, ValueError), type(exc.value)
    assert exc.value.__cause__ is None and exc.value.__context__ is None
    for f in fragments:
        assert f in str(exc.value), (f, str(exc.value))


def test_missing_members(root, tmp_path):
    with pytest.raises(FileNotFoundError) as exc:
        load_mtil(tmp_path, members=['DTD', 'Caltech101'])
    clear_error(exc, '2 of 2 members missing', 'DTD must be laid out as <root>/dtd/', 'dtd/labels/train1.txt',
                'Caltech101 must be laid out as <root>/caltech101/', 'download=True')
    assert not (tmp_path/'caltech101').exists()  # torchvision's Caltech101 would create it
    for key in MTIL_ORDER_I[:-1]:
        shutil.copytree(root/members[key][0], tmp_path/members[key][0])
    with pytest.raises(FileNotFoundError) as exc:
        get_dataset('mtil', tmp_path)
    clear_error(exc, '1 of 11 members missing', 'SUN397 lacks SUN397/;', 'holding ClassName.txt', 'SUN397.tar.gz')
    (tmp_path/'stanford_cars'/'cars_test_annos_withlabels.mat').unlink()
    with pytest.raises(FileNotFoundError) as exc:
        load_mtil(tmp_path, members=['StanfordCars'], download=True)  # never downloaded: the URL is gone
    clear_error(exc, 'StanfordCars lacks stanford_cars/cars_test_annos_withlabels.mat', 'cannot download')


def test_download_fetches_only_missing(root, tmp_path, monkeypatch):
    "`download=True` calls the member's torchvision class for the missing members only (stood in for here)."
    fetched = []
    def fetch(where, key):
        fetched.append(key)
        shutil.copytree(root/members[key][0], where/members[key][0])
    monkeypatch.setattr(mtil, '_fetch', fetch)
    shutil.copytree(root/'food-101', tmp_path/'food-101')
    train, test, stream = load_mtil(tmp_path, members=['Food', 'EuroSAT'], download=True)
    assert fetched == ['EuroSAT'] and stream['task_sizes'] == [3, 3]


@pytest.mark.parametrize('member, index_file', [
    ('Aircraft', 'data/images_variant_test.txt'), ('Food', 'meta/train.json'), ('OxfordPet', 'annotations/trainval.txt'),
    ('StanfordCars', 'devkit/cars_train_annos.mat'), ('Flowers', 'setid.mat'), ('DTD', 'dtd/labels/test1.txt'),
    ('SUN397', 'ClassName.txt'), ('CIFAR100', 'meta'), ('MNIST', 'raw/t10k-labels-idx1-ubyte'),
])
def test_malformed_member(root, tmp_path, member, index_file):
    "A truncated index file of a member gives one clear error naming the member and where its files go."
    folder = members[member][0]
    shutil.copytree(root/folder, tmp_path/folder)
    path = tmp_path/folder/index_file
    path.write_bytes(path.read_bytes()[:path.stat().st_size * 2 // 3])
    with pytest.raises((FileNotFoundError, ValueError)) as exc:
        load_mtil(tmp_path, members=[member])
    clear_error(exc, f'MTIL member {member}: ', f'{member} must be laid out as <root>/{folder}/')


def test_missing_image(root, tmp_path):
    shutil.copytree(root/'oxford-iiit-pet', tmp_path/'oxford-iiit-pet')
    (tmp_path/'oxford-iiit-pet'/'images'/'Abyssinian_1.jpg').unlink()
    with pytest.raises(FileNotFoundError) as exc:
        load_mtil(tmp_path, members=['OxfordPet'])
    clear_error(exc, 'MTIL member OxfordPet: missing files', '1 of 12 train images are missing', 'Abyssinian_1.jpg')


def test_registry(root):
    train, test, stream = get_dataset('mtil', root, members=['MNIST', 'Aircraft'])
    assert stream['task_names'] == ['Aircraft', 'MNIST'] and train.classes[3] == '0'
    assert get_dataset('mtil_order2', root, members=['MNIST', 'Aircraft'])[2]['task_names'] == ['MNIST', 'Aircraft']
    info = datasets.get_cls('mtil').info
    assert info['scenario'] == 'multi-domain task-incremental' and info['tasks'] == '11 datasets (1,201 classes)'
    assert 'SUN397 in SUN397/' in info['layout'] and 'Aircraft in fgvc-aircraft-2013b/' in info['layout']
    assert datasets.get_cls('mtil_order2').info['tasks'].endswith('Order II')
    with pytest.raises(ValueError, match='unknown parameter'):
        get_dataset('mtil_order2', root, order=MTIL_ORDER_I)


def test_readable_names():
    assert mtil.readable_names('Caltech101', ['Faces', 'Faces_easy', 'Motorbikes', 'dollar_bill']) == [
        'face', 'centered face', 'motorbike', 'dollar bill']
    assert mtil.readable_names('SUN397', ['abbey', 'church/outdoor', 'subway_station/platform']) == [
        'abbey', 'outdoor church', 'subway station platform']
    assert mtil.readable_names('EuroSAT', ['PermanentCrop', 'River']) == ['permanent crop land', 'river']
    assert mtil.readable_names('StanfordCars', ['Acura TL Type-S 2008']) == ['Acura TL Type-S 2008']
