"""A private local Ray cluster for tests: started in a helper process whose workers import this
checkout (the caller's environment), stopped by its pid, never by `ray stop` (which would stop
every cluster on the machine)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

CLUSTER = """
import sys, ray
ray.init(num_cpus=int(sys.argv[2]), num_gpus=int(sys.argv[3]), include_dashboard=False,
         object_store_memory=100_000_000, _temp_dir=sys.argv[1], logging_level="ERROR")
print(ray.get_runtime_context().gcs_address, flush=True)
sys.stdin.read()
ray.shutdown()
"""


@contextmanager
def local_cluster(env: dict[str, str], num_cpus: int, num_gpus: int, grace: float = 5) -> Iterator[str]:
    """Yield the address of a cluster with `num_cpus` CPUs and `num_gpus` declared GPUs (a
    replica asks for one; none need exist). `grace`: seconds Ray gets to shut down by itself."""
    env = {**env, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}  # no token in ~/.ray
    temp = tempfile.mkdtemp(prefix="mta-ray-", dir="/tmp")  # Ray's socket paths must stay short
    helper = subprocess.Popen([sys.executable, "-c", CLUSTER, temp, str(num_cpus), str(num_gpus)], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              start_new_session=True)
    try:
        address = helper.stdout.readline().strip()
        assert address, "the Ray cluster did not start"
        yield address
    finally:
        helper.stdin.close()  # the helper shuts Ray down; then its process group goes
        for sig, wait in ((None, grace), (signal.SIGTERM, 5), (signal.SIGKILL, 0)):
            try:
                if sig is not None:
                    os.killpg(helper.pid, sig)
                helper.wait(timeout=wait)
                break
            except (subprocess.TimeoutExpired, ProcessLookupError):
                continue
        shutil.rmtree(temp, ignore_errors=True)
