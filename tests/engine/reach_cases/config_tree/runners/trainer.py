from models.unet import Denoiser


class Trainer:
    def __init__(self, args, config):
        self.args, self.config = args, config

    def train(self):
        config = self.config
        model = Denoiser(config)
        return model
