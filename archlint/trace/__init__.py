"""From a built model to a shape-annotated fx graph: fx, fx with leaves, torch.export, forward hooks."""
