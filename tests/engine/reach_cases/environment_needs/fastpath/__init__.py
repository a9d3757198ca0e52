from .fastpath import cumulative_max   # built from core.pyx by fastpath/setup.py
