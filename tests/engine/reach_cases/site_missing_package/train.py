import archlint_fixture_absent_configs as configs

from net import Net

if __name__ == "__main__":
    cfg = configs.load("experiments/base.yaml")
    model = Net(cfg.width)
