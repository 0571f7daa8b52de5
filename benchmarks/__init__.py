"""Peer benchmarks for tapegrad.

Each workload is implemented once per library (``benchmarks/impls/with_<library>.py``); the
harness runs every library in its own single-threaded worker process, checks its gradient
against the hand-written NumPy floor, then times the libraries in interleaved blocks.
Run ``python benchmarks/run.py --help``.

This package must not import NumPy at import time: the worker pins BLAS thread pools through
environment variables before NumPy loads.
"""
