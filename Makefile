# sriovirt front door: `make run` and `make test` (see README.rst).
# Both install what they need: Debian packages from bindep.txt (as root,
# through apt-get, only when missing), a virtual environment in .venv and
# the pinned Python packages of upper-constraints.txt.

# Debian's interpreter when it exists: a fresh Debian 12 has 3.11.2 there,
# and every pin must install on it (a newer python3 first on PATH hid a
# pin that needs 3.11.5 once).
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
CONF   ?= etc/sriovirt/sriovirt.conf
PYTEST_ARGS ?=
SRIOVIRT = $(BIN)/sriovirt --config-file $(CONF)
# The sample ports of etc/sriovirt/ports.json: $(PORT)1 .. $(PORT)4.
PORT   := 6f0c1e2a-0000-4000-8000-00000000000
SAMPLE_SERVERS := vm-direct vm-macvtap vm-physical vm-packed

.PHONY: run run-cluster test unit functional integration lint bench bench-nova genconfig \
        constraints deps clean

$(VENV)/.stamp: requirements.txt test-requirements.txt upper-constraints.txt \
                pyproject.toml bindep.txt
	tools/install-bindeps
	tools/install-venv $(PYTHON) $(VENV)
	touch $@

deps: $(VENV)/.stamp

run: $(VENV)/.stamp
	$(BIN)/sriovirt-manage --config-file $(CONF) db sync
	$(BIN)/sriovirt --config-file $(CONF) config check
	$(BIN)/sriovirt --config-file $(CONF) pci explain
	$(BIN)/sriovirt --config-file $(CONF) pci refresh
	@echo "# again: nothing changed on the host, so nothing is written"
	$(BIN)/sriovirt --config-file $(CONF) pci refresh
	$(BIN)/sriovirt --config-file $(CONF) pci pools
	$(BIN)/sriovirt --config-file $(CONF) traits
	@echo "# report the provider tree to Placement (embedded: the real"
	@echo "# openstack-placement in-process on state_path/placement.sqlite)"
	$(SRIOVIRT) placement sync
	$(SRIOVIRT) placement show
	@echo "# reconcile: finish what an interrupted run left, and start again the"
	@echo "# guests of existing servers (the test-driver host forgets them)"
	$(SRIOVIRT) compute reconcile
	@echo "# boot the sample servers of etc/sriovirt/ports.json; one left by an"
	@echo "# earlier run is deleted first, so that a re-run converges"
	@for s in $(SAMPLE_SERVERS); do \
	    if $(SRIOVIRT) server show $$s -f value -c uuid >/dev/null 2>&1; then \
	        echo "# $$s exists from an earlier run: delete it"; \
	        $(SRIOVIRT) server delete $$s || exit 1; \
	    fi; \
	done
	$(SRIOVIRT) server boot vm-direct --port $(PORT)1 -f value -c status
	$(SRIOVIRT) server boot vm-macvtap --port $(PORT)2 -f value -c status
	$(SRIOVIRT) server boot vm-physical --port $(PORT)3 -f value -c status
	@echo "# the test driver is not QEMU: no host has COMPUTE_NET_VIRTIO_PACKED,"
	@echo "# so the packed server is forced onto the host (no filters run;"
	@echo "# its resources are still claimed in Placement)"
	$(SRIOVIRT) server boot vm-packed --port $(PORT)4 --force-host sample-host \
	    --flavor-extra-spec hw:virtio_packed_ring=true -f value -c status
	$(SRIOVIRT) server list
	@for s in $(SAMPLE_SERVERS); do \
	    echo "# $$s"; $(SRIOVIRT) server show $$s || exit 1; \
	done
	@echo "# the pools with the servers' devices in use"
	$(SRIOVIRT) pci pools
	@echo "# Placement: a used VF reserves its PF, the used PF its VFs"
	$(SRIOVIRT) placement sync
	$(SRIOVIRT) placement show
	$(SRIOVIRT) server delete vm-physical
	@echo "# the pools again: vm-physical's PF and its VFs are free"
	$(SRIOVIRT) pci pools

# Three sriovirt-compute services on a private RabbitMQ (loopback), one
# SQLite database and the embedded Placement under .state/cluster
# (emptied first); servers booted through the scheduler side over the
# message bus; everything stopped at the end (tools/run-cluster).
run-cluster: $(VENV)/.stamp
	tools/install-bindeps functional
	$(BIN)/python tools/run-cluster $(RUN_CLUSTER_ARGS)

test: $(VENV)/.stamp lint
	tools/install-bindeps integration functional
	$(BIN)/pytest -n 2 $(PYTEST_ARGS) tests

unit: $(VENV)/.stamp
	$(BIN)/pytest -n 2 $(PYTEST_ARGS) tests/unit

functional: $(VENV)/.stamp
	tools/install-bindeps functional
	$(BIN)/pytest $(PYTEST_ARGS) tests/functional

integration: $(VENV)/.stamp
	tools/install-bindeps integration
	$(BIN)/pytest $(PYTEST_ARGS) tests/integration

lint: $(VENV)/.stamp
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: $(VENV)/.stamp
	tools/install-bindeps functional
	$(BIN)/python -m bench

bench-nova: $(VENV)/.stamp
	$(BIN)/python -m bench --peer nova --table \
	    --output bench/results/bench-nova.json $(BENCH_NOVA_ARGS)

genconfig: $(VENV)/.stamp
	$(BIN)/oslo-config-generator \
	    --config-file etc/sriovirt/sriovirt-config-generator.conf

constraints: $(VENV)/.stamp
	( echo '# Every Python package of the venv, pinned.' \
	       'Regenerate with: make constraints'; \
	  $(BIN)/pip freeze --all --exclude-editable | grep -v '^pip==' ) \
	    > upper-constraints.txt

clean:
	rm -rf $(VENV) .state .mypy_cache .ruff_cache .pytest_cache
