"""Shipped reference motions (``<clip>.npz``).

Written by ``python -m benchmark.motions --write-shipped``.
"""
