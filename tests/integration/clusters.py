"""Running Postgres clusters for the integration tests: commands as the `postgres` OS user (the
tests run as root in CI) and pg_ctl with the log next to the data directory."""
import os
import subprocess

PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")


def as_pg(*args, check=True):
    cmd = list(args)
    if os.geteuid() == 0:
        cmd = ["sudo", "-u", "postgres", "env", "-u", "RUST_BACKTRACE"] + cmd
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def pg_ctl(data, *args, check=True):
    """pg_ctl on data directory `data`, its log in `data`.log."""
    return as_pg(f"{PGBIN}/pg_ctl", "-D", data, "-l", f"{data}.log", "-w", "-t", "60", *args, check=check)
