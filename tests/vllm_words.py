"""What vLLM 0.32 says when it refuses a request, word for word: the real engine's tests
(tests/*_real.py) check that it says exactly this, and the stand-in's tests that the stand-in
(tests/standins/vllm) says the same."""

# A prompt that fills the window exactly: no room for the one token every request asks.
FULL = ("The decoder prompt (length {window}) plus the number of requested output tokens (at least 1) is longer "
        "than the maximum model length of {window}. Make sure that `max_model_len` is no smaller than the number "
        "of text tokens (prompt + requested output tokens).")
# A prompt longer than the window.
OVER = ("This model's maximum context length is {window} tokens. However, your prompt contains at least {length} "
        "input tokens, which exceeds this limit even without any output tokens. Please reduce the length of the "
        "input prompt. (parameter=input_tokens, value={length})")
TOO_MANY = ("n must be at most {limit}, got {n}. To increase this limit, set the VLLM_MAX_N_SEQUENCES environment "
            "variable.")
GREEDY_N = "n must be 1 when using greedy sampling, got {n}."
