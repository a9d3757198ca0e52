import torch

from .modeling import Decoder, Encoder, Segmenter


def build_segmenter_b(checkpoint=None):
    return _build(embed_dim=16, depth=2, checkpoint=checkpoint)


def build_segmenter_l(checkpoint=None):
    return _build(embed_dim=32, depth=4, checkpoint=checkpoint)


registry = {"default": build_segmenter_b, "b": build_segmenter_b, "l": build_segmenter_l}


def _build(embed_dim, depth, checkpoint=None):
    model = Segmenter(encoder=Encoder(embed_dim, depth), decoder=Decoder(embed_dim, classes=4))
    model.eval()
    if checkpoint is not None:
        model.load_state_dict(torch.load(checkpoint))
    return model
