"""Runs the reference gateway at debug level with its output kept in a directory of our own.

Used as `--reference-command "python keep_logs.py DIR"` by the secret hygiene test: the
targets delete their work directories (and the logs in them) when they stop, and this
test needs to read every line afterwards. One file per program: `<subcommand>-<pid>.log`.
"""

import os
import sys

from reference.cli import main

if __name__ == "__main__":
    logdir, args = sys.argv[1], sys.argv[2:]
    path = os.path.join(logdir, f"{args[0] if args else 'none'}-{os.getpid()}.log")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    sys.exit(main(["--log-level", "debug", *args]))
