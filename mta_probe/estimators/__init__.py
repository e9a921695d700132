"""Estimators of pass@k: the unbiased one and the fitted one for k beyond the samples."""
