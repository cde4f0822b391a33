"""Training layer: data, pretrained weights, the one Accelerate engine, evaluation, run directories.

Imports torch; nothing in `tladvisor.advice` may import from here.
"""
