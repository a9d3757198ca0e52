import argparse

import networks

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--state_dim", type=int)   # given by every command line
    args = parser.parse_args()
    kwargs = {"state_dim": args.state_dim, "action_dim": 3, "max_action": 1.0}
    kwargs["discount"] = 0.9
    policy = networks.Agent(**kwargs)
    raise SystemExit("training would start here")
