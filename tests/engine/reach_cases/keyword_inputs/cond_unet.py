"""A class-conditional denoiser whose forward takes its condition by keyword, after an optional argument the
example skips (`unet(images, time=t, class_labels=y)` for forward(x, time, self_cond=None, class_labels=None))."""
import torch
import torch.nn as nn


class CondNet(nn.Module):
    def __init__(self, image_size, channels=3, dim=16, num_classes=10):
        super().__init__()
        self.image_size, self.num_classes = image_size, num_classes
        self.to_time = nn.Linear(1, dim)
        self.to_class = nn.Embedding(num_classes, dim)
        self.conv = nn.Conv2d(channels, dim, 3, padding=1)
        self.out = nn.Conv2d(dim, channels, 3, padding=1)

    def forward(self, x, time, self_cond=None, class_labels=None):
        assert (class_labels is not None) == (self.num_classes is not None), "class labels are required"
        if self_cond is not None:
            x = x + self_cond
        cond = self.to_time(time[:, None]) + self.to_class(class_labels)
        return self.out(torch.relu(self.conv(x) + cond[:, :, None, None]))


if __name__ == "__main__":
    net = CondNet(24, num_classes=7)
    images = torch.randn(2, 3, 24, 24)
    out = net(images, time=torch.ones(2), class_labels=torch.randint(0, 7, (2,)))
    assert out.shape == images.shape
