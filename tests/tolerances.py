"""Float tensors compared relative to their own scale.

A float32 sum taken in another order (another BLAS, another core count, chunked against whole)
errs by a few ulps of its largest terms, so an element's error is relative to the tensor's
magnitude, not to the element: an element near 0 may carry the error of its large neighbours'
sums, and an absolute tolerance fits only the values it was sized on (a gradient of 40 on one
machine, of 0.4 on the next model).
"""

from __future__ import annotations


def assert_tensors_close(actual, expected, rel: float) -> None:
    """Each element within `rel` of itself or `rel` of `expected`'s largest magnitude."""
    import torch

    scale = float(expected.abs().max()) if expected.numel() else 0.0
    torch.testing.assert_close(actual, expected, rtol=rel, atol=rel * scale)
