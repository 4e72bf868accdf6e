"""Benchmarks, run by ``make bench`` (``python -m bench``).

Each module measures one part of the system on its own throwaway Redis and prints
figures; nothing here is a test and nothing asserts on time.
"""
