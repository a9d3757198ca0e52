import torch.nn as nn


class MAE(nn.Module):
    """Wraps an encoder it is given: needs a built model as an argument."""

    def __init__(self, *, encoder, masking_ratio):
        super().__init__()
        self.encoder = encoder
        self.masking_ratio = masking_ratio
        self.decoder = nn.Linear(encoder.mix.out_features, 3 * encoder.patch_size ** 2)

    def forward(self, img):
        return self.decoder(self.encoder(img)).pow(2).mean()
