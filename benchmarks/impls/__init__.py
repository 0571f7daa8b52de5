"""One module per library, each defining one function per workload.

A workload function takes the NumPy inputs of :mod:`benchmarks.workloads` and returns a step:
a callable running one forward + backward (+ update) that returns the gradients by name.
Every module also defines ``to_numpy(gradient)``.
"""
