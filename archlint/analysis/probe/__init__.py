"""The shared forward/backward probe: one measured pass over a copy of the model, for every rule.

`run_probe(model, example_inputs)` deep-copies the model (the user's weights, train/eval flags,
`requires_grad` flags and `.grad` tensors are never touched; the global RNG states are restored)
and, with a fixed seed, on at most `batch` samples of the example inputs:

1. runs a train-mode forward pass, recording
   * the order in which parametric layers first use their weights (depth = execution order),
   * per-unit statistics of ReLU/ReLU6/sigmoid/tanh activations (modules and functional calls),
   * the per-channel variance of every BatchNorm input,
   * the input of every dropout (shape, correlation of neighbouring positions);
2. backpropagates the loss `L = Σ_outputs Σ (output ⊙ R)` where R is a fixed standard-normal tensor
   of the output's shape (seed `seed`). The loss is linear in the outputs on purpose: every output
   unit gets a nonzero gradient (R) whatever its value, so a zero-initialised head still passes a
   gradient to its own weights, and gradient ratios do not depend on the output scale. Tuples,
   lists, dicts, named tuples and dataclasses of tensors are all read; non-float outputs are skipped;
3. runs the same train-mode forward again with every dropout replaced by the identity (only
   when the model has dropout, and only when a rule reads `outputs_without_dropout` or
   `batchnorm_inputs`), so the BatchNorm input variance and the outputs with and without dropout
   can be compared with everything else unchanged;
0. two eval-mode forward passes on the same input, on a fresh copy of the model as the user has it
   (outputs must be equal unless something random is still active in eval mode). They run only when
   a rule reads `ProbeResult.eval_outputs`.

Rules get the result through `ctx.probe()` (cached per model). `ProbeResult.method` is the
sentence every probe-based `Metric.method` starts with: batch, seed and loss.

Backward signal at graph nodes (`graph_gradients`, cached per model by `ModelAnalyses.graph_gradients`):
the same train-mode forward/backward (same batch, seed and loss) run on a copy of the traced fx
graph, recording for chosen nodes the RMS of ∂L/∂(node output) per element and the RMS of the
output itself. A layer's weight gradient is δ·a summed over positions: it mixes the backward
signal δ with the size of the activations a, so it grows wherever activations grow (e.g. along
an unnormalised residual stream) even when no more signal arrives. δ alone is what "the gradient
reaching a layer" means; `layer_output(graph, node)` picks the node whose δ is read for a layer
(the layer followed by its norm and activation ops).
"""
