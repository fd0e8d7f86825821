# The only two commands anyone needs: `make run` and `make test`.
# Both create .venv when missing and (re)install requirements.txt only when it
# changed since the last install (the stamp file records that).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8501

.PHONY: run test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	# Make the repository importable (models/, app/) from streamlit, pytest and the CLIs.
	$(BIN)/python -c "import sysconfig,os; open(os.path.join(sysconfig.get_paths()['purelib'],'diffusion_classroom.pth'),'w').write(os.getcwd()+'\\n')"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/streamlit run app/main.py --server.port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache
