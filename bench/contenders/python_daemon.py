"""python-daemon 3.1 with its pid-lock file, the same job as the Rust contenders.

BENCH_PID_FILE names the pid file, BENCH_CHDIR the working directory (default /).
"""
import os
import time

import daemon
import daemon.pidfile

context = daemon.DaemonContext(
    working_directory=os.environ.get("BENCH_CHDIR", "/"),
    umask=0o027,
    pidfile=daemon.pidfile.TimeoutPIDLockFile(os.environ["BENCH_PID_FILE"], 5),
)
with context:
    while True:
        time.sleep(3600)
