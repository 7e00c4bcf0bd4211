"""Each target declares the options it reads; any other target refuses them, naming those that read them."""

from __future__ import annotations

import pytest

from conformance import options
from conformance.targets import catalog


class _Options:
    """The options as the parser leaves them: defaults, except those given."""

    def __init__(self, **given):
        self.values = {"target": "reference", "envtest": False, "envtest_gateway": None}
        self.values.update({opt.dest: opt.default for kind in catalog.KINDS for opt in kind.options})
        self.values.update(given)

    def getoption(self, name):
        return self.values[name]


def _selecting(kind: catalog.TargetKind) -> dict:
    return {"target": kind.target, "envtest": kind.envtest, "envtest_gateway": kind.envtest_gateway}


def _given(opt: catalog.Option):
    return True if opt.attrs.get("action") == "store_true" else (1 if opt.attrs.get("type") is int else "x")


@pytest.mark.parametrize("kind", catalog.KINDS, ids=lambda k: k.selected_by)
def test_a_target_takes_every_option_it_declares(kind):
    for opt in kind.options:
        if opt in (catalog.ENVTEST, catalog.ENVTEST_GATEWAY):
            continue  # they choose the target: _selecting gives them
        options.check_target_options(_Options(**{**_selecting(kind), opt.dest: _given(opt)}))


@pytest.mark.parametrize("kind", catalog.KINDS, ids=lambda k: k.selected_by)
def test_a_target_refuses_the_options_of_others_and_names_the_targets_that_read_them(kind):
    # (--envtest given with --target=kubernetes chooses the cluster of our own, so it is not among them.)
    others = {opt.dest: opt for k in catalog.KINDS if k is not kind for opt in k.options
              if opt not in kind.options and not (opt == catalog.ENVTEST and kind.target == "kubernetes")}
    assert others
    for opt in others.values():
        with pytest.raises(pytest.UsageError) as refused:
            options.check_target_options(_Options(**{**_selecting(kind), opt.dest: _given(opt)}))
        readers = ", ".join(k.selected_by for k in catalog.declared_by(opt))
        assert str(refused.value) == f"{opt.flag} has no effect with {kind.selected_by}; it only applies to {readers}"


def test_the_reference_command_is_refused_with_the_real_gateway_on_envtest():
    given = _Options(target="kubernetes", envtest=True, envtest_gateway="agentgateway", reference_command="python -m reference")
    with pytest.raises(pytest.UsageError, match="--reference-command has no effect with --target=kubernetes --envtest --envtest-gateway"):
        options.check_target_options(given)


def test_the_backend_address_is_read_only_by_a_cluster_of_the_vendors():
    # The option that drifted in the hand-kept table: said to apply with --install-base, refused on envtest.
    assert [k.selected_by for k in catalog.declared_by(catalog.option("--backend-address"))] == ["--target=kubernetes"]


def test_every_target_has_one_kind_per_way_of_selecting_it():
    selections = [(k.target, k.envtest, k.envtest_gateway) for k in catalog.KINDS]
    assert len(set(selections)) == len(selections)
    assert catalog.chosen("kubernetes", True, None).cls == "EnvtestTarget"
