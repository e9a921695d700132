"""A hub model fetched once before any engine starts, and a local checkpoint checked before it loads.

Engines (transformers, vLLM) fail deep inside their loaders when the hub cannot be reached, a
model is gated, an ID or a revision does not exist, or a folder lacks its weights: the user sees
a traceback several screens long. mta instead fetches a hub model with `huggingface_hub` itself
(`fetch_hub_model`), turns each failure into one line that says what to do, and hands the engine
the local snapshot folder. A local folder is checked the same way (`check_checkpoint`): config,
weights whose headers parse, a tokenizer.

Only the files an engine loads are fetched: configs, tokenizer files and safetensors weights
(pytorch `.bin` weights only when a model has no safetensors), as vLLM and transformers prefer.
"""

from __future__ import annotations

import errno
import json
import os
import struct
from collections.abc import Callable
from pathlib import Path

from mta_probe.errors import DiskFullError, ModelUnavailableError

CONFIG_AND_TOKENIZER = ["*.json", "*.model", "*.tiktoken", "merges.txt", "vocab.txt", "*.jinja"]
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tokenizer.tiktoken", "vocab.txt")
SAFETENSORS_HEADER_LIMIT = 100 << 20  # bytes; a larger header means a corrupt length field


def fetch_hub_model(repo_id: str, revision: str | None = None,
                    on_status: Callable[[str], None] | None = None) -> Path:
    """Download (or find in the cache) what an engine needs of a hub model; return its folder.

    Args:
        repo_id: `org/name`.
        revision: a branch, tag or commit; None means the default branch.
        on_status: one-line notices (the download can take minutes for a 7B model).

    Returns:
        The local snapshot folder, checked by `check_checkpoint`.

    Raises:
        ModelUnavailableError: offline and not cached, gated, no such model or revision, or the
            hub failed; the message says which and what to do.
        DiskFullError: the cache's disk filled up during the download.
    """
    from huggingface_hub import snapshot_download

    say = on_status or (lambda _message: None)
    where = f"{repo_id}@{revision}" if revision else repo_id
    try:
        folder = Path(snapshot_download(repo_id, revision=revision,
                                        allow_patterns=CONFIG_AND_TOKENIZER + ["*.safetensors"]))
        if not _weight_files(folder):
            say(f"{where} has no safetensors weights; fetching its pytorch .bin files")
            folder = Path(snapshot_download(repo_id, revision=revision, allow_patterns=["*.bin"]))
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise DiskFullError(f"the disk filled up while downloading {where} to the Hugging Face "
                                f"cache ({exc.strerror}): free space (or set HF_HOME to a larger disk) "
                                "and run the same command again") from None
        raise ModelUnavailableError(hub_failure(exc, repo_id, revision)) from None
    except Exception as exc:  # huggingface_hub raises httpx and its own errors outside OSError too
        raise ModelUnavailableError(hub_failure(exc, repo_id, revision)) from None
    check_checkpoint(folder, name=where)
    return folder


def hub_failure(exc: BaseException, repo_id: str, revision: str | None) -> str:
    """One line saying why a hub model could not be had, and what to do about it."""
    from huggingface_hub import errors

    where = f"{repo_id}@{revision}" if revision else repo_id
    page = f"https://huggingface.co/{repo_id}"
    login = "log in with `hf auth login` or set HF_TOKEN"
    if isinstance(exc, errors.GatedRepoError):
        who = "your token has not been granted access" if _has_token() else "no Hugging Face token is set"
        return f"{repo_id} is a gated model and {who}: accept its terms at {page}, then {login}"
    if isinstance(exc, errors.RevisionNotFoundError):
        return f"{repo_id} has no revision {revision!r}: check the branch, tag or commit at {page}"
    if isinstance(exc, errors.RepositoryNotFoundError):
        hint = "check the spelling" + ("" if _has_token() else f"; if it is private, {login}")
        return f"no model {repo_id} on the Hugging Face hub ({hint})"
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, errors.LocalEntryNotFoundError) and isinstance(cause, errors.HfHubHTTPError):
        exc = cause  # the hub answered, with an error: say which, not "unreachable"
    if isinstance(exc, (errors.LocalEntryNotFoundError, errors.OfflineModeIsEnabled)):
        why = ("HF_HUB_OFFLINE is set" if os.environ.get("HF_HUB_OFFLINE")
               else "the hub cannot be reached (no network, DNS or proxy)")
        download = f"hf download {repo_id}" + (f" --revision {revision}" if revision else "")
        return (f"{where} is not in the local Hugging Face cache and {why}: run `{download}` where "
                "there is network and copy the cache (HF_HOME) here, or pass a local checkpoint folder "
                "as --model")
    if isinstance(exc, errors.HfHubHTTPError) and exc.response is not None:
        return (f"the Hugging Face hub answered HTTP {exc.response.status_code} for {where}; "
                "try again later, or pass a local checkpoint folder as --model")
    first = (str(exc).strip().splitlines() or [""])[0][:160]
    return f"{where} could not be fetched from the Hugging Face hub: {type(exc).__name__}: {first}"


def check_checkpoint(folder: Path, *, name: str | None = None) -> None:
    """Refuse a checkpoint folder an engine would fail on half-way: no config, no weights, weights
    whose safetensors header does not parse (a truncated copy), no tokenizer.

    Raises:
        ModelUnavailableError: naming the folder and what is missing or broken.
    """
    label = name or str(folder)
    if not (folder / "config.json").is_file():
        raise ModelUnavailableError(f"{label} has no config.json: not a checkpoint folder")
    weights = _weight_files(folder)
    if not weights and not list(folder.glob("*.bin")):
        raise ModelUnavailableError(f"{label} has no weights (model.safetensors, its shards, or "
                                    "pytorch_model.bin): the copy is incomplete")
    for path in weights:
        problem = _safetensors_problem(path)
        if problem:
            raise ModelUnavailableError(f"{path} is not a readable safetensors file ({problem}): the "
                                        "copy is truncated or corrupt; copy or download it again")
    if not any((folder / tokenizer).is_file() for tokenizer in TOKENIZER_FILES):
        raise ModelUnavailableError(f"{label} has no tokenizer (one of {', '.join(TOKENIZER_FILES)})")


def _weight_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.safetensors"))


def _safetensors_problem(path: Path) -> str | None:
    """Why the file's header does not parse, or None. Reads 8 bytes and the JSON header only."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            raw = handle.read(8)
            if len(raw) < 8:
                return f"{size} bytes, shorter than a header"
            length = struct.unpack("<Q", raw)[0]
            if length > min(SAFETENSORS_HEADER_LIMIT, size - 8):
                return f"header length {length} exceeds the file's {size} bytes"
            header = json.loads(handle.read(length))
    except (OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    ends = [entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"]
    if ends and 8 + length + max(ends) > size:
        return f"the tensors need {8 + length + max(ends)} bytes, the file has {size}"
    return None


def _has_token() -> bool:
    from huggingface_hub import get_token

    return get_token() is not None
