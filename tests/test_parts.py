"""ActiveLLM's parameters: twelve at most, the parts nested, moved keywords refused by name."""

from __future__ import annotations

import inspect
import pickle

import pytest
from sklearn.base import clone

from activellm_modal import ActiveLLM
from activellm_modal.llm import Completion, OpenAIBackend
from activellm_modal.parts import FirstK, LabelQuotas, Prompt, RegionPresenter, UniformPresenter
from activellm_modal.strategies.moved import MOVED


class First:
    def complete(self, request):
        return Completion(", ".join(str(i) for i in range(request.k)))


def test_activellm_has_at_most_twelve_parameters():
    names = ActiveLLM._get_param_names()
    assert len(names) <= 12, names
    signature = inspect.signature(ActiveLLM.__init__).parameters
    # No catch-all: moved names are refused by a wrapper (refuse_moved), so the
    # signature scikit-learn reads is exactly the twelve parameters.
    assert not [p for p in signature.values() if p.kind is p.VAR_KEYWORD]
    assert [n for n in signature if n != "self"] == sorted(names, key=list(signature).index)


@pytest.mark.parametrize("name", sorted(MOVED))
def test_a_moved_keyword_is_refused_with_its_new_place(name):
    part, maker, new = MOVED[name]
    with pytest.raises(TypeError, match=rf"ActiveLLM\({name}=\.\.\.\) moved to the {part}") as err:
        ActiveLLM(**{name: 1})
    assert maker in str(err.value)
    if part != "backend" and name != "presentation":  # a whole presenter, not a value
        assert f"set_params({part}__{new}=" in str(err.value)
    with pytest.raises(ValueError, match=f"moved to the {part}"):
        ActiveLLM().set_params(**{name: 1})


def test_the_readme_example_of_a_moved_keyword():
    with pytest.raises(TypeError) as err:
        ActiveLLM(n_presented=100)
    message = str(err.value)
    assert "presenter=RegionPresenter(n_presented=100)" in message
    assert "UniformPresenter" in message and "set_params(presenter__n_presented=100)" in message


def test_an_unknown_keyword_is_a_plain_type_error():
    with pytest.raises(TypeError, match="unexpected keyword argument 'n_shown'"):
        ActiveLLM(n_shown=3)


def test_short_forms_still_work():
    strategy = ActiveLLM(model="gpt-4o", base_url="http://127.0.0.1:9/v1", labels=["a", "b"])
    backend = strategy._get_backend()
    assert isinstance(backend, OpenAIBackend) and backend.base_url == "http://127.0.0.1:9/v1"
    assert ActiveLLM(model="gpt-4o", random_state=0).get_params()["random_state"] == 0


def test_nested_parameters_of_a_default_part_can_be_set():
    strategy = ActiveLLM(backend=First(), random_state=0)
    assert strategy.presenter is None
    strategy.set_params(
        presenter__n_presented=3, prompt__recap="texts", narrower__fallback="random"
    )
    assert isinstance(strategy.presenter, RegionPresenter) and strategy.presenter.n_presented == 3
    assert strategy.prompt.recap == "texts" and isinstance(strategy.narrower, FirstK)
    assert strategy.get_params()["presenter__n_presented"] == 3
    # the shared defaults were not touched
    assert ActiveLLM()._presenter_part().n_presented == 200
    assert ActiveLLM()._prompt_part().recap == "none"


def test_parts_clone_and_pickle_with_the_strategy():
    strategy = ActiveLLM(
        backend=First(),
        presenter=UniformPresenter(n_presented=5),
        prompt=Prompt(output="list"),
        narrower=LabelQuotas(oversample=3.0),
        labels=["a", "b"],
        random_state=0,
    )
    twin = clone(strategy)
    assert twin.presenter is not strategy.presenter and twin.presenter.n_presented == 5
    assert twin.get_params()["narrower__oversample"] == 3.0
    restored = pickle.loads(pickle.dumps(strategy))
    assert restored.prompt.output == "list"
    assert repr(strategy).startswith("ActiveLLM(backend=")


def test_price_per_million_lives_on_the_backend():
    class Priced(First):
        price_per_million = (1.0, 2.0)

        def complete(self, request):
            return Completion("0", prompt_tokens=1000, completion_tokens=10)

    strategy = ActiveLLM(backend=Priced(), presenter=UniformPresenter(), random_state=0)
    strategy(None, ["a", "b", "c"], 1)
    assert strategy.usage_["cost"] == pytest.approx((1000 * 1.0 + 10 * 2.0) / 1e6)
    assert ActiveLLM(backend=First(), presenter=UniformPresenter()).select(["a", "b"], 1)
