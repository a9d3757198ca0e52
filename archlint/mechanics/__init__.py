"""Mechanics every layer needs, written once, one subject per module:

- `frames`: whose code a file or traceback frame is (the user's, torch's, archlint's);
- `causes`: why an exception happened, the one place that reads an exception's words;
- `errors`: an exception as one line in the user's terms;
- `source`: how a place in the user's code is shown (paths, notebook cells);
- `state`: RNG, training-flag and attribute save/restore;
- `tensors`: meta inputs, the tensors in an output, memory sizes and the memory budget;
- `profile`: where the time goes (`--profile`).

Nothing here knows about rules, graphs or reports; every package may import it. torch is imported lazily
by the helpers that need it, so `import archlint` (e.g. as a pytest plugin) stays light.
"""
