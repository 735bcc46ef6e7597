"""The deployment: the wheel, installed in a fresh venv with no checkout in sight, initialises a workspace
and processes the samples as the editable install does; `install-service` writes a unit, a user and a
workspace owned by that user, and systemd's own tools accept them."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.cli import main
from tests.workspaces import ROOT, files_in

pytestmark = pytest.mark.slow
# What a build needs from the checkout; daemon/shipped/ links to the folders after the first two.
SOURCE = ("pyproject.toml", "README.md", "daemon", "templates", "inbox_schemas", "samples", "systemd")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """bin/ of a new venv holding only the wheel built from a copy of the checkout (and its dependencies,
    from the index `make` uses, through pip's cache)."""
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "source"
    source.mkdir()
    for name in SOURCE:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(source), "-w", str(tmp / "dist")], tmp)
    (wheel,) = (tmp / "dist").glob("billdrop-*.whl")
    _run([sys.executable, "-m", "venv", str(tmp / "venv")], tmp)
    _run([str(tmp / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], tmp)
    shutil.rmtree(source)  # nothing of the checkout is left to lean on
    return tmp / "venv" / "bin"


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run away from the checkout, without its PYTHONPATH; fail with the command's output."""
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{command} → {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def _drop_samples(workspace: Path) -> None:
    """Every shipped sample into its inbox at once; `process` takes them in dependency order."""
    for sample in files_in(ROOT / "samples", "*.*"):
        if sample.suffix != ".md":
            shutil.copy2(sample, workspace / "inbox" / sample.parent.name / sample.name)


def _outputs(workspace: Path) -> tuple[list[str], dict[str, int]]:
    """Every PDF by its path (numbers, ИНН, month), and how many files each outbox and mail/ hold (their
    names carry the time of writing or a Message-ID)."""
    pdfs = [p.relative_to(workspace).as_posix() for p in files_in(workspace / "documents")]
    folders = [workspace / "mail", *(workspace / "outbox").iterdir()]
    return pdfs, {folder.name: len(files_in(folder)) for folder in folders}


def test_the_wheel_runs_init_and_process_like_the_checkout(installed, tmp_path):
    """`billdrop init` and `process` from the installed wheel issue the same documents as the editable run."""
    billdrop = str(installed / "billdrop")
    where = _run([str(installed / "python"), "-c", "import daemon; print(daemon.__file__)"], tmp_path).stdout
    assert Path(where).is_relative_to(installed.parent) and not Path(where).is_relative_to(ROOT)
    _run([billdrop, "init", "ws"], tmp_path)
    _drop_samples(tmp_path / "ws")
    _run([billdrop, "process", "-w", "ws"], tmp_path)

    assert main(["init", str(tmp_path / "editable")]) == 0
    _drop_samples(tmp_path / "editable")
    assert main(["process", "-w", str(tmp_path / "editable")]) == 0
    pdfs, counts = _outputs(tmp_path / "ws")
    assert (pdfs, counts) == _outputs(tmp_path / "editable")
    assert len(pdfs) > 50 and all(counts.values()) and files_in(tmp_path / "ws" / "quarantine") == []


@pytest.mark.skipif(os.geteuid() != 0, reason="giving the workspace to the service user (chown) needs root")
def test_install_service_writes_what_systemd_accepts(installed, tmp_path):
    """Into an image root: the unit runs the installed billdrop, sysusers.d makes its user, tmpfiles.d its
    workspace, `init` fills that workspace as the user's; `systemd-analyze verify` and `security` pass."""
    root = tmp_path / "root"
    done = _run([str(installed / "billdrop"), "install-service", "--root", str(root)], tmp_path)
    assert "systemctl enable --now billdrop" in done.stdout
    unit = root / "etc/systemd/system/billdrop.service"
    assert f"ExecStart={installed / 'billdrop'} run -w /srv/billdrop\n" in unit.read_text(encoding="utf-8")
    verify = _run(["systemd-analyze", "verify", str(unit)], tmp_path)
    assert verify.stderr == "", verify.stderr
    security = _run(["systemd-analyze", "security", "--offline=true", "--threshold=20", str(unit)], tmp_path)
    assert "Overall exposure level for billdrop.service: 1." in security.stdout

    user = next(line.split(":") for line in (root / "etc/passwd").read_text().splitlines()
                if line.startswith("billdrop:"))
    uid, home = int(user[2]), user[5]
    workspace = root / "srv/billdrop"
    assert home == "/srv/billdrop" and uid != 0
    made = [workspace / "billdrop.toml", workspace / "inbox" / "charges", workspace / "outbox" / "1c"]
    assert all(path.exists() for path in made)
    assert {path.stat().st_uid for path in [workspace, *workspace.rglob("*")]} == {uid}
