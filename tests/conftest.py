import os

# Headless plotting everywhere in the test suite.
os.environ.setdefault("MPLBACKEND", "Agg")
