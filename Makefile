# Two commands matter: `make run` (the demo back-office on http://127.0.0.1:5000) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UI := webapp/editor/ui
export FLASK_APP := wsgi

.PHONY: run test worker install editor messages translations lint bench clean

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

install: $(VENV)/.installed

$(UI)/node_modules/.installed: $(UI)/package.json $(UI)/package-lock.json
	cd $(UI) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

webapp/static/editor/editor.js: $(UI)/node_modules/.installed $(shell find $(UI)/src -type f 2>/dev/null) $(UI)/vite.config.js
	cd $(UI) && npm run build --silent

editor: webapp/static/editor/editor.js

# UI texts (webapp code and templates, and the node types' N_() texts in flows/nodes) → messages.pot → the
# catalogs; then translate the new (empty) entries in webapp/translations/ru/LC_MESSAGES/messages.po.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -w 120 -o webapp/translations/messages.pot .
	$(BIN)/pybabel update -i webapp/translations/messages.pot -d webapp/translations -w 120 \
		--no-fuzzy-matching

translations: install
	$(BIN)/pybabel compile --statistics -d webapp/translations 2>/dev/null || $(BIN)/pybabel compile -d webapp/translations

run: install editor translations
	$(BIN)/flask db upgrade
	$(BIN)/flask demo seed
	START_SWEEPER=1 $(BIN)/flask run --host 127.0.0.1 --port 5000

worker: install
	$(BIN)/flask worker

test: install editor translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	cd $(UI) && npm test --silent

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/engine.py

clean:
	rm -rf $(VENV) $(UI)/node_modules webapp/static/editor instance/temoweb.sqlite3
