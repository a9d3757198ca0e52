from models import Generator


class Trainer:
    def __init__(self, data_loader, config):
        self.data_loader = data_loader
        self.imsize = config.imsize
        self.z_dim = config.z_dim
        self.conv_dim = config.conv_dim
        self.build_model()

    def build_model(self):
        self.G = Generator(self.imsize, self.z_dim, self.conv_dim)

    def train(self):
        for images in self.data_loader:
            self.G(images)
