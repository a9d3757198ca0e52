from dataclasses import asdict

from encoder import EncoderConfig


def test_the_config_keeps_its_fields():
    config = EncoderConfig(width=24, depth=3)
    assert asdict(config) == {"width": 24, "depth": 3, "dropout": 0.1}
