import torch
from torch import nn

TIME_FEATURES = {"h": 4, "d": 3}   # hour of day, day of week, day of month, day of year


class Model(nn.Module):
    """Encodes the input window with its time features; the decoder starts from the window's last `label_len`
    steps followed by `pred_len` zeros, with the time features of those steps."""

    def __init__(self, configs):
        super().__init__()
        self.seq_len = configs.seq_len
        self.label_len = configs.label_len
        self.pred_len = configs.pred_len
        marks = TIME_FEATURES[configs.freq]
        self.value = nn.Conv1d(configs.enc_in, configs.d_model, 3, padding=1)
        self.marks = nn.Linear(marks, configs.d_model)
        self.summary = nn.Linear(configs.seq_len, 1)
        self.dec_value = nn.Linear(configs.enc_in, configs.d_model)
        self.dec_marks = nn.Linear(marks, configs.d_model)
        self.project = nn.Linear(configs.d_model, configs.enc_in)

    def forward(self, x_enc, x_mark_enc, x_dec, x_mark_dec):
        encoded = self.value(x_enc.permute(0, 2, 1)).permute(0, 2, 1) + self.marks(x_mark_enc)
        context = self.summary(encoded.transpose(1, 2)).transpose(1, 2)
        zeros = torch.zeros(x_dec.shape[0], self.pred_len, x_dec.shape[2])
        start = torch.cat([x_enc[:, -self.label_len:, :], zeros], dim=1)
        decoded = self.dec_value(start) + self.dec_marks(x_mark_dec) + context
        return self.project(decoded)[:, -self.pred_len:, :]
