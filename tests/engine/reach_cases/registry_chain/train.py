import types

from architectures import build_model


def main():
    cfg = types.SimpleNamespace(arch="Detector", width=8, classes=3)
    model = build_model(cfg)
    for step in range(100):
        model(step)


if __name__ == "__main__":
    main()
