import torch
from torchvision import datasets


class DataLoader:
    def __init__(self, dataset, image_path):
        self.dataset, self.path = dataset, image_path

    def loader(self):
        if self.dataset == "churches":
            data = datasets.ImageFolder(self.path)
        return torch.utils.data.DataLoader(data, batch_size=4)   # `data` is unbound for the default dataset
