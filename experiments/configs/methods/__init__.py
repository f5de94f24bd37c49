"""One config per DARTS-family method: ``get_config(arg)``; ``arg`` 'nb201' gives its NAS-Bench-201
search (experiments/compare_methods.py reads that one)."""
