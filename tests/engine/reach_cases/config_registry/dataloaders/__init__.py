import os


class VOCDataset:
    def __init__(self, root):
        self.files = sorted(os.listdir(root))
        self.num_classes = 21


class VOC:
    def __init__(self, data_dir, batch_size):
        self.dataset = VOCDataset(data_dir)
        self.batch_size = batch_size
