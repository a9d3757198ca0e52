"""A model whose attributes hide nn.Module's methods is linted through a view on which both work."""
from __future__ import annotations

import torch
from torch import nn

import archlint
from archlint.mechanics.shadowing import hidden_methods, unshadowed


class Decoder(nn.Module):
    """ESPNet's pattern: the encoder's layers kept in `self.modules`, a plain list the forward indexes."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1))
        self.modules = []
        for layer in self.encoder.children():
            self.modules.append(layer)
        self.parameters = list(self.encoder.parameters())   # an agent's "parameters to optimise"
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        for layer in self.modules:
            x = layer(x)
        return self.head(x)


def test_the_view_keeps_the_users_values_and_nn_modules_methods() -> None:
    model = Decoder()
    assert hidden_methods(model) == ["modules", "parameters"]
    view, note = unshadowed(model)
    assert note is not None and "`modules` (list), `parameters` (list)" in note
    assert len(view.modules) == 3 and view.modules[0] is model.encoder[0]   # the user's list, as the forward reads it
    walked = list(view.modules())
    assert walked[0] is view and walked[1:] == list(nn.Module.modules(model))[1:]   # the same layers
    assert sum(p.numel() for p in view.parameters()) == sum(p.numel() for p in nn.Module.parameters(model))
    x = torch.randn(2, 3, 8, 8)
    assert torch.equal(view(x), model(x))
    assert type(model) is Decoder and isinstance(model.modules, list)   # the user's object is untouched


def test_a_model_hiding_nn_module_methods_is_linted_not_an_internal_error() -> None:
    report = archlint.check(Decoder(), torch.randn(2, 3, 16, 16))
    assert not report.errors, report.errors
    [linted] = report.models
    assert linted.parameters == (3 * 8 * 9 + 8) + (8 * 8 * 9 + 8) + (8 * 4 + 4)
    assert any("hide nn.Module's methods" in note.text for note in linted.notes)
