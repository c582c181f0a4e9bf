#!/usr/bin/env python3
"""Contour's experiment runner: `python runner.py --help`."""

from contour.cli import runner_main

if __name__ == "__main__":
    runner_main()
