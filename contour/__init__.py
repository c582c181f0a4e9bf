"""Contour: difficulty-manifold benchmark generator and runner for LLM reasoning.

The data path is a straight line, one module per arrow:
config (`config`) -> points (`manifold`) -> tests (`generation`) -> requests
(`templates`, `samplers`) -> records (`records`, `runner`) -> statistics
(`contour.evaluate`).
"""

__version__ = "0.1.0"
