"""Whether a model runs on given inputs (checked on meta or fake tensors first), without changing it."""
from __future__ import annotations

import contextlib
import io
import logging
import warnings
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import nn

from archlint.load.device import inputs_for
from archlint.mechanics.causes import Cause, causes
from archlint.mechanics.state import eval_mode
from archlint.mechanics.tensors import to_meta
from archlint.trace import fake
from archlint.trace.fake import OverBudget, fake_mode


@contextlib.contextmanager
def quiet_torch() -> Iterator[None]:
    """torch.export logs failed graphs and warnings; a failed attempt is reported by us, in one line."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def runs_on(model: nn.Module, example_inputs: Sequence[Any]) -> bool:
    """Whether the model's forward accepts these inputs: checked by running it for real when that is cheaper
    (trace/fake.py), else on meta tensors, else on fake tensors (no activation allocated); a forward that reads
    its tensors' values (`.numpy()`, `.item()` deciding a size), which neither imitation holds, runs for real."""
    inputs = inputs_for(model, example_inputs)
    if fake.real_run_cheaper(model, inputs):
        try:
            return _forward(model, lambda: fake.on_real_copies(model), inputs)
        except OverBudget:
            pass
        except Exception as exc:
            if not Cause.OUT_OF_MEMORY in causes(exc):
                return False    # the real forward failed: that is the answer, no cheaper imitation can overrule it
    imitations_failed = False
    # meta before fake: several times cheaper; fake tensors decide when the meta run fails
    for mode, given in ((lambda: fake.on_meta(model), to_meta(inputs)), (fake_mode, inputs)):
        try:
            return _forward(model, mode, given)
        except Exception as exc:
            imitations_failed = imitations_failed or fake.imitation_failed(exc)
    if imitations_failed and fake.real_run_possible(model, inputs):
        try:
            return _forward(model, lambda: fake.on_real_copies(model), inputs)
        except (OverBudget, Exception):
            return False
    return False


def _forward(model: nn.Module, mode: Callable[[], Any], inputs: Sequence[Any]) -> bool:
    """One eval forward under `mode` (innermost, so it leaves first); True, or the forward's exception."""
    with eval_mode(model), quiet_torch(), torch.no_grad(), mode():
        model(*inputs)
    return True




class _Arrived(Exception):
    """Stops a forward once every watched layer has seen its input."""


def channels_fitted(model: nn.Module, example_inputs: Sequence[Any],
                    reached: Sequence[nn.Module | None]) -> tuple[Any, ...] | None:
    """Inputs whose arguments carry the channels (or features) that make the convolution (or linear layer) each one
    reaches (`reached[i]`, read from forward's code) receive its `in_channels` (`in_features`), or None when none
    is found that runs. An argument concatenated with other features before that layer (a decoder's
    `cat((x, low_level), dim=1)`, a conditional GAN's `cat((label_emb(labels), noise), -1)`) needs fewer than the
    layer takes: how many more arrive is measured with a hook on a meta-tensor forward, not read from the code. An
    argument the forward multiplies (a space-to-depth stem: `cat` of 4 strided slices, 4 × 3 channels) gets the
    layer's channels divided by the factor that arrived."""
    current = list(inputs_for(model, example_inputs))
    watched = {i: layer for i, layer in enumerate(reached) if i < len(current) and isinstance(current[i], torch.Tensor)
               and current[i].is_floating_point() and _axis(layer, current[i]) is not None}
    for _ in range(3):
        arrived = _channels_arriving(model, current, watched)
        wrong = {i: _takes(watched[i]) - size for i, size in arrived.items() if size != _takes(watched[i])}
        if not wrong:
            break
        for i, missing in wrong.items():
            shape = list(current[i].shape)
            axis = _axis(watched[i], current[i])
            given, takes = shape[axis], _takes(watched[i])
            shape[axis] += missing
            if shape[axis] <= 0:
                # more arrive than were given even with none of them: the forward multiplies what it is given
                # (a space-to-depth stem stacks 4 shifted copies: 12 channels from 3), by a whole factor
                factor, rest = divmod(takes - missing, given)   # what arrived, per channel given
                if rest or factor < 2 or takes % factor:
                    return None
                shape[axis] = takes // factor
            current[i] = torch.randn(shape, generator=torch.Generator().manual_seed(i)).to(current[i])
    else:
        return None
    changed = any(c.shape != e.shape for c, e in zip(current, example_inputs) if isinstance(c, torch.Tensor))
    return tuple(current) if changed and runs_on(model, current) else None


def fewer_axes_fitted(model: nn.Module, example_inputs: Sequence[Any],
                      reached: Sequence[nn.Module | None]) -> tuple[tuple[Any, ...], str] | None:
    """The inputs with the first one's last axis dropped, sized by channels_fitted, with a sentence: for maps that
    reach a convolution of their rank (a point cloud's points: the forward makes the neighbours' axis its first 2-D
    convolution reads); None when that does not apply or run."""
    inputs = tuple(example_inputs)
    first, layer = (inputs[0] if inputs else None), (reached[0] if reached else None)
    if not isinstance(first, torch.Tensor) or not first.is_floating_point() or first.dim() < 4 or \
            not isinstance(layer, nn.modules.conv._ConvNd) or len(layer.kernel_size) + 2 != first.dim():
        return None
    fitted = channels_fitted(model, (first[..., 0].contiguous(), *inputs[1:]), reached)
    if fitted is None:
        return None
    shapes = ", ".join(str([int(d) for d in t.shape]) for t in fitted if hasattr(t, "shape"))
    return fitted, (f"input {shapes}: one axis fewer than the first convolution takes, which the forward adds "
                    f"(neighbours, windows), each argument sized so that the layer it reaches receives the channels "
                    f"it takes (a forward on meta tensors)")


SMALLEST_SIDE, LARGEST_SIDE = 8, 1024


def side_fitted(model: nn.Module, example_inputs: Sequence[Any]) -> tuple[tuple[Any, ...], str] | None:
    """Maps of the side at which the first linear layer the forward reaches receives the features it takes (a
    DQN's `Linear(7 * 7 * 64, 512)` after its convs wants 84x84 frames), with a sentence; None when that layer is
    not fed by the maps' positions or no side fits. The features a side gives grow with it: a bisection of
    forwards finds the side."""
    inputs = list(inputs_for(model, example_inputs))
    first = inputs[0] if inputs else None
    if not isinstance(first, torch.Tensor) or not first.is_floating_point() or first.dim() < 3:
        return None
    spatial = first.dim() - 2

    def sized(side: int) -> list[Any]:
        shape = (*first.shape[:2], *(side,) * spatial)
        return [torch.randn(shape, generator=torch.Generator().manual_seed(0)).to(first), *inputs[1:]]

    reached = _first_linear_features(model, inputs)
    if reached is None or reached[1] == reached[0].in_features:
        return None
    layer = reached[0]
    # from the given side, toward the side it needs: a smaller one runs for real, cheaper than meta tensors
    low, high, fits = SMALLEST_SIDE, LARGEST_SIDE, None
    if reached[1] > layer.in_features:
        high = max(first.shape[2:]) - 1
    else:
        low = max(first.shape[2:]) + 1
    while low <= high:   # the smallest side that fits: strided convs round several sides to the same map
        side = (low + high) // 2
        arrived = _first_linear_features(model, sized(side))
        features = arrived[1] if arrived is not None and arrived[0] is layer else None
        if features == layer.in_features:
            fits = side
        if features is None or features < layer.in_features:
            low = side + 1
        else:
            high = side - 1
    candidate = sized(fits) if fits is not None else None
    if candidate is None or not runs_on(model, candidate):
        return None
    return tuple(candidate), (f"input shape {list(candidate[0].shape)}: the side at which the first linear layer "
                              f"the forward reaches receives the {layer.in_features} features it takes (found by "
                              f"bisection, each step a forward stopped at that layer)")


def _first_linear_features(model: nn.Module, inputs: Sequence[Any]) -> tuple[nn.Linear, int] | None:
    """The first linear layer a forward reaches (real when that is cheaper, else on meta tensors), and the
    features it receives when the maps were flattened into them (stopped there; None when a linear layer works on
    the maps' last axis)."""
    arrived: list[tuple[nn.Linear, int]] = []

    def hook(module: nn.Module, args: tuple[Any, ...]) -> None:
        if args and isinstance(args[0], torch.Tensor) and args[0].dim() == 2:   # flattened: (batch, features)
            arrived.append((module, int(args[0].shape[-1])))   # type: ignore[arg-type]
        raise _Arrived

    handles = [m.register_forward_pre_hook(hook) for m in model.modules() if isinstance(m, nn.Linear)]
    real = fake.real_run_cheaper(model, inputs)   # as runs_on decides
    try:
        if real:
            _forward(model, lambda: fake.on_real_copies(model), inputs)
        else:
            _forward(model, lambda: fake.on_meta(model), to_meta(inputs))
    except (Exception, OverBudget):   # _Arrived, a side too small for the convs before it, a slow real run
        pass
    finally:
        for handle in handles:
            handle.remove()
    return arrived[0] if arrived else None


def _axis(layer: nn.Module | None, tensor: torch.Tensor) -> int | None:
    """The axis of `tensor` that becomes the layer's input size: channels (1) for a conv of the tensor's rank, the
    last axis of a vector or a sequence of vectors for a linear layer (an image's last axis is its width: an image
    a Linear-first model does not take is the wrong kind of input, not one of the wrong width)."""
    # (or of one axis more than the tensor has: the forward adds it, as a point cloud's neighbours)
    if isinstance(layer, nn.modules.conv._ConvNd) and layer.in_channels and \
            tensor.dim() in (len(layer.kernel_size) + 2, len(layer.kernel_size) + 1):
        return 1
    if isinstance(layer, nn.Linear) and 2 <= tensor.dim() <= 3:
        return tensor.dim() - 1
    return None


def _takes(layer: nn.Module) -> int:
    return layer.in_channels if isinstance(layer, nn.modules.conv._ConvNd) else layer.in_features


def _channels_arriving(model: nn.Module, inputs: Sequence[Any], watched: dict[int, nn.Module]) -> dict[int, int]:
    """The channels each watched layer receives in one forward on meta tensors (stopped once all have)."""
    arrived: dict[int, int] = {}

    def seen(index: int) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple[Any, ...]) -> None:
            if args and isinstance(args[0], torch.Tensor) and args[0].dim() >= 2:
                arrived.setdefault(index, int(args[0].shape[1] if isinstance(module, nn.modules.conv._ConvNd)
                                              else args[0].shape[-1]))
            if len(arrived) == len(watched):
                raise _Arrived
        return hook

    handles = [layer.register_forward_pre_hook(seen(i)) for i, layer in watched.items()]
    try:
        _forward(model, lambda: fake.on_meta(model), to_meta(inputs))
    except Exception:   # _Arrived, or the forward failing after what was measured
        pass
    finally:
        for handle in handles:
            handle.remove()
    return arrived
