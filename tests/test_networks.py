"""The network registry (int8cnn.networks) is the one table of networks: it names exactly the
committed networks, every entry builds its model, and everything that used to keep its own table
reads it."""
import json

import pytest

from int8cnn import networks
from int8cnn.cli import export_options, main
from int8cnn.data import dataset_of
from int8cnn.generate import GEN_DIR
from int8cnn.hardware import default_mults, top_name
from int8cnn.models import layer_plan

from int8cnn.paths import ROOT
COMMITTED = sorted(p.name for p in (ROOT / "weights").iterdir() if (p / "manifest.json").exists())


def test_registry_names_exactly_the_committed_networks():
    assert sorted(networks.names()) == COMMITTED


@pytest.mark.parametrize("net", COMMITTED)
def test_entry_matches_what_is_committed(net):
    """The model's plan has one entry per exported layer, and the entry's dataset, export options
    and folds are those the committed files were made with."""
    n = networks.get(net)
    manifest = json.loads((ROOT / "weights" / net / "manifest.json").read_text())
    assert len(layer_plan(n.build())) == len(manifest["layers"])
    assert n.dataset in ("mnist", "fashion") and dataset_of(net) == n.dataset
    assert (n.dataset == "fashion") == net.endswith("_fashion")
    for m in (n.mults, *n.extra_folds):
        assert (GEN_DIR / f"{top_name(net, m)}.v").exists(), (net, m)
    assert default_mults(net) == n.mults
    opts = export_options(net)
    assert opts == {"requant": n.export["requant"], "bias_bits": n.export["bias_bits"]}
    assert set(n.train) <= {"epochs", "lr", "rot", "scale", "shift", "weight_decay"}
    assert n.qat is None or set(n.qat) <= {"epochs", "lr"}


def test_unknown_network_is_named():
    with pytest.raises(KeyError, match="unknown network 'nope'; known: default"):
        networks.get("nope")
    with pytest.raises(SystemExit):  # argparse: invalid choice, with the list
        main(["generate", "--net", "nope"])


def test_outside_the_registry_the_defaults_hold():
    """A network loaded from a manifest the registry does not know (a user's own export) is
    fully parallel, MNIST, fixed multipliers, int32 biases."""
    assert default_mults("mine") is None and dataset_of("mine") == "mnist"
    assert export_options("mine") == {"requant": "fixed", "bias_bits": 32}
    assert export_options("mine", "pow2", 16) == {"requant": "pow2", "bias_bits": 16}


def test_makefile_field_query(capsys):
    """`python -m int8cnn.networks <net> mults`, what the Makefile's MULTS default reads."""
    for net in COMMITTED:
        networks.main([net, "mults"])
        assert capsys.readouterr().out.strip() == str(networks.get(net).mults or 0)
    with pytest.raises(SystemExit):
        networks.main(["default", "no_such_field"])
