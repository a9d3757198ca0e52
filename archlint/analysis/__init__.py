"""What the rules measure with: the layer graph, cost, receptive field, the probe, fx rewrites, and the
per-model cache of shared analyses."""
