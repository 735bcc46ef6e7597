"""`billdrop install-service`: the systemd unit, its user and its workspace folder (shell)."""
from __future__ import annotations

import subprocess
from pathlib import Path

from daemon.config import ConfigError, builtin_dir
from daemon.workspace import write_atomic

# The paths the shipped files in systemd/ name; the installed copies name the real ones.
SHIPPED_EXECUTABLE = "/opt/billdrop/bin/billdrop"
SHIPPED_WORKSPACE = "/srv/billdrop"
SERVICE_USER = "billdrop"
INSTALLED = {  # shipped file → where it goes, under the root
    "billdrop.service": "etc/systemd/system/billdrop.service",
    "billdrop.sysusers": "etc/sysusers.d/billdrop.conf",
    "billdrop.tmpfiles": "etc/tmpfiles.d/billdrop.conf",
}


def install_service(root: Path, workspace: Path, executable: Path) -> list[Path]:
    """Write the unit and its sysusers.d and tmpfiles.d files under `root` ("/" on the server, another
    folder for a packager's image) naming `executable` and `workspace` (both as seen from `root`), then
    let systemd's own tools make the user and the workspace folder it owns. Returns the files written."""
    if not workspace.is_absolute() or any(char.isspace() for char in str(workspace)):
        raise ConfigError(f"рабочая папка службы «{workspace}»: нужен абсолютный путь без пробелов")
    written = []
    for name, target in INSTALLED.items():
        text = (builtin_dir("systemd") / name).read_text(encoding="utf-8")
        text = text.replace(SHIPPED_EXECUTABLE, str(executable)).replace(SHIPPED_WORKSPACE, str(workspace))
        write_atomic(root / target, text.encode())
        written.append(root / target)
    for command in (["systemd-sysusers"], ["systemd-tmpfiles", "--create"]):
        try:
            subprocess.run([*command, f"--root={root}", "billdrop.conf"], check=True, capture_output=True,
                           text=True)
        except FileNotFoundError:
            raise ConfigError(f"нет программы {command[0]}: установите systemd") from None
        except subprocess.CalledProcessError as exc:
            raise ConfigError(f"{command[0]}: {exc.stderr.strip() or exc.stdout.strip()}") from None
    return written
