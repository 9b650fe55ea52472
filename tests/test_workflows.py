"""The GitHub workflows only call make targets and scripts that exist."""
import re
import shlex
import subprocess

import pytest
import yaml

from int8cnn.paths import ROOT
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def make_targets() -> set:
    out = subprocess.run(["make", "-pRrq", "-f", "Makefile", ":"], cwd=ROOT, capture_output=True,
                         text=True).stdout
    return {m.group(1) for m in re.finditer(r"^([A-Za-z0-9_.-]+):", out, re.M)}


def run_lines(wf: dict):
    for job in wf["jobs"].values():
        for step in job.get("steps", []):
            for line in step.get("run", "").splitlines():
                line = re.sub(r"\$\{\{[^}]*\}\}", "X", line.strip())  # GitHub expressions
                if line and not line.startswith("#"):
                    yield line


def test_both_workflows_exist():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "nightly.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_calls_exist(path):
    wf = yaml.safe_load(path.read_text())
    triggers = wf.get(True, wf.get("on"))  # YAML 1.1 reads the key `on` as True
    assert triggers, f"{path.name}: no triggers"
    targets = make_targets()
    checked = 0
    for line in run_lines(wf):
        for cmd in re.split(r"\|\||&&|;|\|", line):
            words = shlex.split(cmd.strip(), posix=True) if cmd.strip() else []
            if not words:
                continue
            if words[0] == "make":
                goals = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
                for g in goals:
                    assert g in targets, f"{path.name}: `make {g}` is not a Makefile target"
                    checked += 1
            for w in words:
                if re.match(r"^(\./)?(tb|benchmarks|\.ci|scripts)/[\w./-]+\.(py|sh)$", w) or w == ".ci/run":
                    assert (ROOT / w).exists(), f"{path.name}: {w} does not exist"
                    checked += 1
                if w.startswith("int8cnn.") and words[0].endswith("python") and "-m" in words:
                    mod = ROOT / (w.replace(".", "/") + ".py")
                    assert mod.exists(), f"{path.name}: module {w} does not exist"
                    checked += 1
    assert checked > 0, f"{path.name}: no make target or script found to check"


def test_checker_rejects_a_missing_target(tmp_path):
    """The check above can fail: a workflow naming a missing target is caught."""
    assert "no-such-target" not in make_targets()
    assert "sim" in make_targets() and "regress" in make_targets() and "test" in make_targets()


def test_make_help_lists_every_target():
    """Every target in the Makefile's .PHONY list is named in `make help`."""
    text = (ROOT / "Makefile").read_text()
    phony = {t for line in re.findall(r"^\.PHONY:(.*)$", text, re.M) for t in line.split()}
    assert {"lint", "fpga-check", "test-py"} <= phony
    out = subprocess.run(["make", "help"], cwd=ROOT, capture_output=True, text=True).stdout
    named = set(re.findall(r"[A-Za-z][A-Za-z0-9_-]*", " ".join(
        line.split(":", 1)[0] for line in out.splitlines() if ":" in line)))
    assert phony <= named, f"make help omits {sorted(phony - named)}"


def test_unknown_sim_is_a_usage_error_not_a_run_of_skips():
    import os
    import sys
    env = dict(os.environ, SIM="foo")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:xdist",
                        "tb/test_requant.py"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 4, (r.returncode, r.stdout[-500:], r.stderr[-500:])
    assert "SIM='foo' is not a supported simulator; use one of: icarus, verilator" in r.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_hygiene(path):
    """Read-only token, one run per ref, a time limit on every job, and every job in the Debian
    release the project is measured on (not the runner image's tool versions); in a container job
    `github.workspace` names the host's path, so no step or env may use it."""
    wf = yaml.safe_load(path.read_text())
    assert wf["permissions"] == {"contents": "read"}
    assert "github.ref" in wf["concurrency"]["group"]
    for name, job in wf["jobs"].items():
        assert 0 < job.get("timeout-minutes", 0) <= 180, f"{path.name}: job {name}"
        assert job.get("container") == "debian:bookworm", f"{path.name}: job {name} not in debian:bookworm"
        assert "github.workspace" not in yaml.safe_dump(job), f"{path.name}: job {name} uses github.workspace"
