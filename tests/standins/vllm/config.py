"""vLLM's ModelConfig (vllm/config/model.py), the part mta reads: `max_model_len`, derived from
the checkpoint's config.json (`max_position_embeddings`) when it is a folder, 2048 for a name,
and a larger one refused with vLLM's reason (pydantic raises it as a ValueError)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# The context length of the stand-in's own model, for a model given by name.
NAMED_MODEL_WINDOW = 2048


class ModelConfig:
    def __init__(self, model: str, max_model_len: int | None = None, **_: Any) -> None:
        config = Path(model) / "config.json"
        derived = json.loads(config.read_text()).get("max_position_embeddings") if config.is_file() else None
        limit = int(derived or NAMED_MODEL_WINDOW)
        if max_model_len is not None and max_model_len > limit:
            raise ValueError("1 validation error for ModelConfig\n  Value error, User-specified max_model_len "
                             f"({max_model_len}) is greater than the derived max_model_len (max_position_embeddings="
                             f"{float(limit)} or model_max_length=None in model's config.json). To allow overriding "
                             "this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1.")
        self.model = model
        self.max_model_len = int(max_model_len or limit)
