"""Builders that take every setting as a required parameter, fed from one dict of defaults."""
from .unet import UNet


class NoiseSchedule:
    def __init__(self, steps):
        self.steps = steps


def model_defaults():
    return dict(image_size=48, num_channels=16, diffusion_steps=100)


def create_model(image_size, num_channels):
    return UNet(in_channels=3, model_channels=num_channels, image_size=image_size)


def create_model_and_schedule(image_size, num_channels, diffusion_steps):
    model = create_model(image_size, num_channels)
    schedule = NoiseSchedule(diffusion_steps)
    return model, schedule


def args_to_dict(args, keys):
    return {k: getattr(args, k) for k in keys}


def add_dict_to_argparser(parser, default_dict):
    for k, v in default_dict.items():
        parser.add_argument(f"--{k}", default=v, type=type(v))
