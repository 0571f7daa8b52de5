"""Tape replay: :func:`~tapegrad.jit` records a function's NumPy calls once and replays them.

``trace`` (the recording) is imported by the operations themselves, so this package imports
nothing at load time; ``tapegrad.jit`` comes from :mod:`tapegrad.replay.jit`.
"""
