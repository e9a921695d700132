"""vLLM's request errors (vllm/exceptions.py): not a ValueError since vLLM 0.3x."""

from __future__ import annotations

from typing import Any


class VLLMError(Exception):
    pass


class VLLMClientError(VLLMError):
    pass


class VLLMValidationError(VLLMClientError):
    """A request vLLM refuses; `parameter`/`value`, when given, end the message as vLLM's do."""

    def __init__(self, message: str, *, parameter: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.message, self.parameter, self.value = message, parameter, value

    def __str__(self) -> str:
        if self.parameter is None:
            return self.message
        return f"{self.message} (parameter={self.parameter}, value={self.value})"
