import argparse
import types

from agent import DQN


def make_env(name):
    """Stands for gym.make: a box of 5 observations and 3 actions."""
    return types.SimpleNamespace(observation_space=types.SimpleNamespace(shape=(5,)),
                                 action_space=types.SimpleNamespace(n=3))


class Runner:
    def __init__(self, args, env_name):
        self.args = args
        self.env = make_env(env_name)
        self.args.state_dim = self.env.observation_space.shape[0]
        self.args.action_dim = self.env.action_space.n
        self.agent = DQN(args)

    def run(self):
        for _ in range(10):
            pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden_width", type=int, default=64)
    args = parser.parse_args()
    runner = Runner(args=args, env_name="CartPole-v1")
    runner.run()
