"""A real OpenSSH server on a free loopback port, with a throwaway host key and user key.

It serves one forced command, the way the README's team recipe does: the user key's ``authorized_keys`` line
carries ``command="…",restrict,pty``, so a session gets that program on a terminal and nothing else.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path

SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
SSH = shutil.which("ssh")
KEYGEN = shutil.which("ssh-keygen")
# sshd as root wants its privilege-separation directory; a non-root sshd can only log in its own user.
PRIVSEP_DIR = Path("/run/sshd")


def missing() -> str | None:
    """Why this machine cannot run the server, or None."""
    if not (SSHD and SSH and KEYGEN):
        return "OpenSSH (openssh-server, openssh-client) is not installed (.ci/run installs it)"
    if os.geteuid() == 0 and not PRIVSEP_DIR.is_dir():
        try:
            PRIVSEP_DIR.mkdir(mode=0o755, parents=True)
        except OSError as exc:
            return f"cannot create {PRIVSEP_DIR}: {exc}"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _keygen(path: Path) -> None:
    assert KEYGEN is not None
    subprocess.run([KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "finx-test", "-f", str(path)],
                   check=True, timeout=30)


class SshServer:
    """``sshd -D`` on 127.0.0.1 with key-only auth; every login runs ``command`` on a pty."""

    def __init__(self, workdir: Path, command: list[str]) -> None:
        self.dir = workdir
        self.port = free_port()
        self.user = os_user()
        self.host_key = workdir / "host_ed25519"
        self.user_key = workdir / "user_ed25519"
        self.command = command
        self.log = workdir / "sshd.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SshServer:
        self.dir.mkdir(parents=True, exist_ok=True)
        _keygen(self.host_key)
        _keygen(self.user_key)
        forced = shlex.join(self.command).replace('"', '\\"')
        public = (self.user_key.with_suffix(".pub")).read_text().strip()
        authorized = self.dir / "authorized_keys"
        # The README's recipe: the key may run the monitor and nothing else (no forwarding, no agent, no shell).
        authorized.write_text(f'command="{forced}",restrict,pty {public}\n')
        authorized.chmod(0o600)
        config = self.dir / "sshd_config"
        config.write_text("\n".join([
            f"Port {self.port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {self.host_key}",
            f"AuthorizedKeysFile {authorized}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            # The key and its files live in a pytest temp dir, whose parents the test does not own the modes of.
            "StrictModes no",
            "UsePAM no",
            f"PidFile {self.dir / 'sshd.pid'}",
            "",
        ]))
        assert SSHD is not None
        with self.log.open("wb") as log:
            self._proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"sshd exited {self._proc.returncode}: {self.log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"sshd did not listen on {self.port} within 15 s: {self.log.read_text()}")

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)

    def client_argv(self, *extra: str) -> list[str]:
        """``ssh -tt`` into the server as a person would, never asking anything interactively."""
        assert SSH is not None
        return [SSH, "-tt", "-i", str(self.user_key), "-p", str(self.port),
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                "-o", "StrictHostKeyChecking=no", "-o", f"UserKnownHostsFile={self.dir / 'known_hosts'}",
                "-o", "LogLevel=ERROR", *extra, f"{self.user}@127.0.0.1"]


def os_user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name
