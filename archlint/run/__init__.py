"""One run: settings (config file, command line, keywords), rule selection, linting each model, many
targets in workers, baselines."""
