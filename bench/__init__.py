"""Benchmarks: runnable scripts printing figures (see README, Layout). `_common` is what they share."""
