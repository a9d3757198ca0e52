import yaml

from audio.stft import Spectrogram, Vocoder


def load_config(path):
    with open(path) as file:
        return yaml.safe_load(file)


class Frontend:
    def __init__(self, config):
        self.stft = Spectrogram(config["stft"]["n_fft"], config["stft"]["mels"])
        self.vocoder = Vocoder(config["stft"]["mels"], 32)
